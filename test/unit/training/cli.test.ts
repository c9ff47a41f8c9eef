// `slhf train`, `slhf eval` and `slhf adapters` end to end on a tiny fixture and a store of
// synthetic decisions (refinements ending with '.' accepted, with '!' rejected): training runs in
// its own process, activates v0001, and the held-out accuracy `slhf eval` prints rises above the
// base model's 0.5.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { followerMessages, leaderMessages, PRESETS, renderPrompt } from '../../../src/models/prompts';
import { loadTokenizer } from '../../../src/models/tokenizer';
import { createLogger } from '../../../src/store/logger';
import type { SessionRecord } from '../../../src/store/schema';
import { PreferenceStore } from '../../../src/store/store';
import { cli, decisionRecords, type TinyFixture, tinyFixture, storeWith } from './fixtures';

let f: TinyFixture;
let storeDir: string;

before(async () => {
  f = await tinyFixture();
  storeDir = join(f.dir, 'store');
  await storeWith(storeDir, decisionRecords(120));
});
after(() => f.cleanup());

test('slhf train activates a version; slhf eval reports held-out accuracy above the base model', async () => {
  const out = join(f.dir, 'out');
  const base = await cli('eval', '--store', storeDir, '--follower', f.modelDir, '--json');
  assert.equal(base.code, 0, base.stderr);
  const baseResult = JSON.parse(base.stdout);
  assert.equal(baseResult.accuracy, 0.5);
  assert.ok(baseResult.samples >= 15, `held out ${baseResult.samples}`);

  const train = await cli('train', '--store', storeDir, '--follower', f.modelDir, '--out', out, '--steps', '30', '--lr', '3e-3', '--lora-r', '4', '--json-progress');
  assert.equal(train.code, 0, train.stderr);
  const messages = train.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(messages.filter((m) => m.type === 'progress').length, 30);
  assert.equal(messages.at(-1).type, 'done');
  assert.ok(existsSync(join(out, 'adapters', 'v0001', 'adapter_model.safetensors')));

  const trained = await cli('eval', '--store', storeDir, '--follower', f.modelDir, '--out', out, '--json');
  assert.equal(trained.code, 0, trained.stderr);
  const result = JSON.parse(trained.stdout);
  assert.equal(result.samples, baseResult.samples);
  // Observed with these seeds: 1.0 (27 of 27 held-out samples move the way their decisions say).
  assert.ok(result.accuracy >= 0.8, `held-out accuracy ${result.accuracy}`);
  const sameAsLora = JSON.parse((await cli('eval', '--store', storeDir, '--follower', f.modelDir, '--lora', join(out, 'adapters', 'v0001'), '--samples', '2', '--json')).stdout);
  assert.equal(sameAsLora.accuracy, result.accuracy);
  assert.equal(sameAsLora.refinements.length, 2);
  assert.ok(sameAsLora.refinements.every((r: { before: string; after: string }) => typeof r.before === 'string' && typeof r.after === 'string'));

  const listed = JSON.parse((await cli('adapters', '--out', out, '--json')).stdout);
  assert.equal(listed.active, 'v0001');
  // One Follower sample per held-out decision here (one round each).
  assert.equal(listed.versions[0].data.heldOutPairs, baseResult.samples);
  const rolled = JSON.parse((await cli('adapters', '--out', out, '--rollback', '--json')).stdout);
  assert.equal(rolled.active, null);
});

test('slhf train --mode online: fresh samples on the store\'s contexts, a judge, and its win rate before and after', async () => {
  const out = join(f.dir, 'online');
  const run = await cli('train', '--store', storeDir, '--follower', f.modelDir, '--out', out, '--mode', 'online', '--judge', 'shorter',
    '--steps', '8', '--lr', '1e-2', '--lora-r', '4', '--max-new-tokens', '8', '--batch-size', '8', '--json-progress',
    '--temperature', '0.7', '--refinements-per-draft', '2', '--drafts-per-prompt', '1', '--follower-beta', '0.01', '--eos-penalty', '0.1', '--no-rloo');
  assert.equal(run.code, 0, run.stderr);
  const messages = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const rates = messages.filter((m) => m.type === 'winrate').map((m) => m.value);
  assert.equal(rates.length, 2);
  const done = messages.at(-1);
  assert.equal(done.type, 'done');
  assert.equal(done.meta.settings.mode, 'online');
  // The estimator flags reach the run (its meta records the resolved settings).
  const { temperature, refinementsPerDraft, draftsPerPrompt, followerBeta, eosPenalty, rloo, leaderEvery, separateAdapters } = done.meta.settings;
  assert.deepEqual(
    { temperature, refinementsPerDraft, draftsPerPrompt, followerBeta, eosPenalty, rloo, leaderEvery, separateAdapters },
    { temperature: 0.7, refinementsPerDraft: 2, draftsPerPrompt: 1, followerBeta: 0.01, eosPenalty: 0.1, rloo: false, leaderEvery: 1, separateAdapters: false },
  );
  assert.equal(done.meta.metrics.winRate, rates[1]);
  // A tiny random model rarely samples its end token, so 'shorter' moves slowly here (observed 0.505
  // -> 0.532 in 20 steps of 12 tokens); test/unit/training/online.test.ts shows the win rate rising.
  assert.ok(rates.every((r) => r > 0 && r < 1));
});

test('bad input gets a clear message', async () => {
  const noStore = await cli('train', '--follower', f.modelDir, '--out', join(f.dir, 'x'));
  assert.equal(noStore.code, 2);
  assert.match(noStore.stderr, /^slhf train: --store is required/);
  assert.doesNotMatch(noStore.stderr, /slhf train: slhf train/);
  // An empty store: one prefix (the panel showed "slhf train: slhf train: ...").
  const empty = await cli('train', '--store', join(f.dir, 'empty-store'), '--follower', f.modelDir, '--out', join(f.dir, 'x'));
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /^slhf train: the store has no decisions to train on yet/);
  const badKl = await cli('train', '--store', storeDir, '--follower', f.modelDir, '--out', join(f.dir, 'x'), '--kl', 'k9');
  assert.match(badKl.stderr, /--kl must be one of k1\|k2\|k3/);
  const badJudge = await cli('train', '--store', storeDir, '--follower', f.modelDir, '--out', join(f.dir, 'x'), '--mode', 'online', '--judge', 'kind');
  assert.match(badJudge.stderr, /--judge must be one of shorter\|longer/);
  const badLr = await cli('train', '--store', storeDir, '--follower', f.modelDir, '--out', join(f.dir, 'x'), '--lr', 'fast');
  assert.match(badLr.stderr, /--lr must be a number/);
  const badGroup = await cli('train', '--store', storeDir, '--follower', f.modelDir, '--out', join(f.dir, 'x'), '--refinements-per-draft', '0');
  assert.match(badGroup.stderr, /--refinements-per-draft must be an integer >= 1/);
  const badPenalty = await cli('train', '--store', storeDir, '--follower', f.modelDir, '--out', join(f.dir, 'x'), '--eos-penalty=-1');
  assert.match(badPenalty.stderr, /--eos-penalty must be a number >= 0/);
  // A Follower weight cannot matter with a frozen Leader (Adam cancels a pure loss scale): the CLI says so.
  const idleWeight = await cli('train', '--store', storeDir, '--follower', f.modelDir, '--dry-run', '--follower-weight', '5');
  assert.equal(idleWeight.code, 0, idleWeight.stderr);
  assert.match(idleWeight.stderr, /--follower-weight and --separate-adapters have no effect while the Leader is frozen/);
  const sharedWeight = await cli('train', '--store', storeDir, '--follower', f.modelDir, '--dry-run', '--follower-weight', '5', '--leader', 'same');
  assert.doesNotMatch(sharedWeight.stderr, /no effect/);
});

test('slhf train --dry-run --json prints each game sample without training: role, record, rendered prompt, completion, score, behaviour', async () => {
  const run = await cli('train', '--store', storeDir, '--follower', f.modelDir, '--dry-run', '--json');
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
  // One Follower sample per decision (one round each); the Leader is frozen without --leader.
  assert.equal(lines.length, 120);
  const store = await PreferenceStore.open(storeDir, { logger: createLogger({ level: 'silent' }) });
  const tokenizer = await loadTokenizer(f.modelDir);
  for (const line of lines) {
    assert.deepEqual(Object.keys(line), ['role', 'record', 'prompt', 'completion', 'score', 'behaviour', 'tokens']);
    const record = (await store.get(line.record)) as SessionRecord;
    const x = { preset: PRESETS.prose, instruction: 'Say it.', context: record.context };
    const { tokens, ...rest } = line;
    // At least the rendered prompt's and the completion's own tokens (the completion also ends its turn).
    const own = tokenizer.encode(line.prompt, { add_special_tokens: false }).length + tokenizer.encode(line.completion, { add_special_tokens: false }).length;
    assert.ok(Number.isInteger(tokens) && tokens >= own, `tokens ${tokens}, own ${own}`);
    assert.deepEqual(rest, {
      role: 'follower', record: record.id, prompt: renderPrompt(tokenizer, followerMessages(x, record.draft.text)).text,
      completion: record.rounds[0].text, score: record.decision.kind === 'accepted' ? 1 : 0, behaviour: false,
    });
  }
  const withLeader = (await cli('train', '--store', storeDir, '--follower', f.modelDir, '--leader', 'same', '--dry-run', '--json')).stdout.trim().split('\n').map((l) => JSON.parse(l));
  const leaders = withLeader.filter((l) => l.role === 'leader');
  assert.equal(leaders.length, 120);
  const first = (await store.get(leaders[0].record)) as SessionRecord;
  assert.deepEqual({ ...leaders[0], tokens: undefined }, {
    role: 'leader', record: first.id, prompt: renderPrompt(tokenizer, leaderMessages({ preset: PRESETS.prose, instruction: 'Say it.', context: first.context })).text,
    completion: first.draft.text, score: first.decision.kind === 'accepted' ? 0 : 1, behaviour: false, tokens: undefined,
  });
});

test('slhf train --max-length leaves out longer samples, says how many decisions, and refuses when nothing is left', async () => {
  // 20 short decisions, 3 of them with a long context (in the prompt): those are the long samples.
  const dir = join(f.dir, 'store-lengths');
  const records = decisionRecords(20, 5).map((r, i) => {
    if (i >= 3) return r;
    const context = `${r.context} ${'and then some more words '.repeat(12)}`;
    return { ...r, context, rounds: r.rounds.map((round) => ({ ...round, prompt: round.prompt && { ...round.prompt, context } })) };
  });
  await storeWith(dir, records);
  const dryRun = async (...more: string[]) => {
    const run = await cli('train', '--store', dir, '--follower', f.modelDir, '--dry-run', '--json', ...more);
    assert.equal(run.code, 0, run.stderr);
    return { lines: run.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { record: string; tokens: number }), stderr: run.stderr };
  };
  const all = (await dryRun()).lines;
  const longIds = new Set(records.slice(0, 3).map((r) => r.id));
  const limit = Math.max(...all.filter((l) => !longIds.has(l.record)).map((l) => l.tokens));
  assert.ok(all.filter((l) => longIds.has(l.record)).every((l) => l.tokens > limit), 'the long contexts make the longest samples');
  const { lines: kept, stderr } = await dryRun('--max-length', String(limit));
  assert.deepEqual(kept.map((l) => l.record).sort(), records.slice(3).map((r) => r.id).sort());
  assert.match(stderr, new RegExp(`left out the samples of 3 decision\\(s\\) longer than ${limit} tokens`));
  const shortest = Math.min(...all.map((l) => l.tokens));
  const none = await cli('train', '--store', dir, '--follower', f.modelDir, '--out', join(f.dir, 'none'), '--max-length', String(shortest - 1));
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, new RegExp(`every decision in the store is longer than ${shortest - 1} tokens`));
});
