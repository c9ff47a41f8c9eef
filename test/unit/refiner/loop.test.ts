// The refinement loop on tiny fixture models, in process: reproducible seeds, ordered streaming,
// fixed points, cancellation within one step, recorded log-probs equal to the scorer's, input limits.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseCommandArgs } from '../../../src/cli/command';
import { scoreCommand } from '../../../src/cli/model-graph-commands';
import { openScorer, type Scorer } from '../../../src/models/score';
import { ModelHost } from '../../../src/refiner/host';
import { refine, type RefineRequest } from '../../../src/refiner/loop';
import { RefinerInputError } from '../../../src/refiner/refiner-settings';
import type { StepCounters } from '../../../src/refiner/generate';
import { collect, constantModel, results, tempRoot, tinyModel } from './fixtures';

const { root, cleanup } = tempRoot('loop');
let host: ModelHost;
let constantHost: ModelHost;
let scorer: Scorer;
let modelDir: string;

before(async () => {
  modelDir = await tinyModel(join(root, 'tiny'));
  const constantDir = await constantModel(join(root, 'constant'));
  host = new ModelHost({ cacheDir: join(root, 'cache'), idleUnloadMs: 0 });
  host.configure({ follower: { spec: modelDir } });
  constantHost = new ModelHost({ cacheDir: join(root, 'cache'), idleUnloadMs: 0 });
  constantHost.configure({ follower: { spec: constantDir } });
  scorer = await openScorer(modelDir);
});

after(async () => {
  await host.unloadAll();
  await constantHost.unloadAll();
  await scorer.release();
  cleanup();
});

const request = (over: Partial<RefineRequest> = {}): RefineRequest => ({
  draft: '  The quick brown fox.\n', rounds: 3, languageId: 'markdown',
  settings: { seed: 7, maxNewTokens: 10, temperature: 1, topP: 0.95, topK: 0 }, ...over,
});

test('the same seed gives the same rounds; another seed gives others', async () => {
  const a = results(await collect(refine(host, request())));
  const b = results(await collect(refine(host, request())));
  const c = results(await collect(refine(host, request({ settings: { seed: 8, maxNewTokens: 10, temperature: 1, topP: 0.95 } }))));
  assert.equal(a.length, 3);
  const strip = (r: typeof a) => r.map((x) => ({ ids: x.tokenIds, text: x.text, lp: x.logprobs, seed: x.sampling.seed }));
  assert.deepEqual(strip(b), strip(a));
  assert.notDeepEqual(c.map((x) => x.tokenIds), a.map((x) => x.tokenIds));
  // Each round refines the previous output: its prompt holds that text as the assistant's turn.
  const prompts = await host.use('follower', async ({ tokenizer }) => a.map((r) => tokenizer.decode(r.prompt.tokenIds) as string));
  assert.ok(prompts[0].includes('<|im_start|>assistant\nThe quick brown fox.<|im_end|>'));
  for (let i = 1; i < a.length; i++) assert.ok(prompts[i].includes(`<|im_start|>assistant\n${a[i - 1].text.trim()}<|im_end|>`), `round ${i + 1}`);
});

test('streamed chunks arrive in order, inside their rounds, and join to each round\'s text', async () => {
  const events = await collect(refine(host, request({ settings: { seed: 3, maxNewTokens: 16, temperature: 1.2 } })));
  assert.equal(events.at(-1)!.type, 'done');
  let open: number | null = null;
  let joined = '';
  let chunks = 0;
  for (const e of events) {
    if (e.type === 'round-start') {
      assert.equal(open, null, 'rounds do not overlap');
      open = e.round;
      joined = '';
    } else if (e.type === 'chunk') {
      assert.equal(e.round, open);
      joined += e.text;
      chunks++;
    } else if (e.type === 'round-end') {
      assert.equal(e.result.round, open);
      assert.equal(joined, e.result.text);
      open = null;
    }
  }
  assert.ok(chunks > 3, 'more than one chunk per round');
  const rounds = results(events);
  assert.deepEqual(rounds.map((r) => r.round), [1, 2, 3]);
  // The preset is chosen once and reported with the result: the one every round's prompt was built with.
  const done = events.at(-1)!;
  assert.ok(done.type === 'done' && done.preset === 'prose');
  assert.deepEqual(rounds.map((r) => r.prompt.preset), ['prose', 'prose', 'prose']);
  for (const r of rounds) {
    assert.ok(r.text.startsWith('  ') && r.text.endsWith('\n'), 'the original\'s outer whitespace is kept');
    assert.equal(r.tokenIds.length, r.logprobs.length);
    assert.equal(r.timings.tokens, r.tokenIds.length);
  }
});

test('the loop stops early when a round returns the text it was given', async () => {
  const events = await collect(refine(constantHost, request({ rounds: 5, settings: { seed: 1, maxNewTokens: 6, temperature: 0 } })));
  const rounds = results(events);
  assert.equal(rounds.length, 2, 'round 2 repeats round 1, so round 3 never runs');
  assert.equal(rounds[1].text, rounds[0].text);
  assert.deepEqual([rounds[0].fixedPoint, rounds[1].fixedPoint], [false, true]);
  const done = events.at(-1)!;
  assert.ok(done.type === 'done' && done.stoppedBy === 'fixed-point');
  // All logits are 0, so every token's log-prob is -log(vocab).
  for (const lp of rounds[0].logprobs) assert.ok(Math.abs(lp + Math.log(320)) < 1e-5);
});

test('cancellation stops generation within one decoding step', async () => {
  const controller = new AbortController();
  const counters: StepCounters = { steps: 0, stepsAfterAbort: 0 };
  const events = [];
  for await (const e of refine(constantHost, request({ rounds: 3, settings: { seed: 1, maxNewTokens: 200, temperature: 0 } }), controller.signal, counters)) {
    events.push(e);
    if (e.type === 'chunk') controller.abort();
  }
  const rounds = results(events);
  assert.equal(rounds.length, 1);
  assert.equal(rounds[0].stopReason, 'cancelled');
  assert.ok(counters.stepsAfterAbort <= 1, `${counters.stepsAfterAbort} decoding steps ran after the abort`);
  assert.ok(rounds[0].tokenIds.length <= 2 && counters.steps <= 3, `${counters.steps} steps for a 200-token budget`);
  const done = events.at(-1)!;
  assert.ok(done.type === 'done' && done.stoppedBy === 'cancelled');
  // What it held is released: the next request runs normally on the same host.
  const next = results(await collect(refine(constantHost, request({ rounds: 1, settings: { seed: 1, maxNewTokens: 4, temperature: 0 } }))));
  assert.equal(next[0].tokenIds.length, 4);
});

test('leaving the loop early (break) stops generation too', async () => {
  const counters: StepCounters = { steps: 0, stepsAfterAbort: 0 };
  for await (const e of refine(constantHost, request({ settings: { seed: 1, maxNewTokens: 200, temperature: 0 } }), undefined, counters)) {
    if (e.type === 'chunk') break;
  }
  assert.ok(counters.steps <= 3, `${counters.steps} steps`);
});

test('recorded log-probs equal the scorer\'s on the same prompt and completion (within 1e-4)', async () => {
  const settings = [
    { seed: 11, maxNewTokens: 12, temperature: 1, topP: 0.9, topK: 40, repetitionPenalty: 1.3 }, // filters do not change the record
    { seed: 12, maxNewTokens: 12, temperature: 0 }, // greedy records the T = 1 log-probs
  ];
  for (const s of settings) {
    const rounds = results(await collect(refine(host, request({ rounds: 2, settings: s }))));
    for (const r of rounds) {
      const [scored] = await scorer.score([{ ids: [...r.prompt.tokenIds, ...r.tokenIds], from: r.prompt.tokenIds.length }]);
      assert.equal(scored.length, r.logprobs.length);
      for (let i = 0; i < scored.length; i++) assert.ok(Math.abs(scored[i] - r.logprobs[i]) < 1e-4, `token ${i}: ${scored[i]} vs ${r.logprobs[i]}`);
      assert.ok(Math.abs(r.logprobSum - scored.reduce((a, b) => a + b, 0)) < 1e-3);
      for (let i = 0; i < r.samplingLogprobs.length; i++) assert.ok(r.samplingLogprobs[i] <= 1e-9);
    }
  }
});

test('`slhf score --ids` prints the same log-probs as were recorded', async () => {
  const [r] = results(await collect(refine(host, request({ rounds: 1, settings: { seed: 21, maxNewTokens: 8, temperature: 1 } }))));
  let stdout = '';
  const args = parseCommandArgs(scoreCommand, ['--model', modelDir, '--ids', [...r.prompt.tokenIds, ...r.tokenIds].join(','), '--prompt-len', String(r.prompt.tokenIds.length), '--json']);
  assert.equal(await scoreCommand.run(args, { stdout: (t) => (stdout += t), stderr: () => undefined, stdin: async () => '' }), 0);
  const scored = JSON.parse(stdout);
  assert.deepEqual(scored.tokens, r.tokenIds);
  scored.logprobs.forEach((lp: number, i: number) => assert.ok(Math.abs(lp - r.logprobs[i]) < 1e-4, `token ${i}`));
});

test('log-probs at a sampling temperature are log softmax(logits / T) of the generating model', async () => {
  const [r] = results(await collect(refine(host, request({ rounds: 1, settings: { seed: 5, maxNewTokens: 6, temperature: 0.6 } }))));
  // Independent path: transformers.js's own forward pass on the full sequence, then log-softmax in float64.
  const logits = await host.use('follower', async ({ model }) => {
    const { Tensor } = await import('@huggingface/transformers');
    const ids = [...r.prompt.tokenIds, ...r.tokenIds];
    const n = ids.length;
    const out = await model({
      input_ids: new Tensor('int64', BigInt64Array.from(ids, BigInt), [1, n]),
      attention_mask: new Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
    });
    return { data: out.logits.data as Float32Array, vocab: out.logits.dims[2] as number };
  });
  const P = r.prompt.tokenIds.length;
  r.tokenIds.forEach((token, i) => {
    const row = logits.data.subarray((P + i - 1) * logits.vocab, (P + i) * logits.vocab);
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v / 0.6);
    let sum = 0;
    for (const v of row) sum += Math.exp(v / 0.6 - max);
    const expected = row[token] / 0.6 - max - Math.log(sum);
    assert.ok(Math.abs(expected - r.logprobs[i]) < 1e-4, `token ${i}: ${expected} vs ${r.logprobs[i]}`);
  });
});

test('input limits: empty, binary, undecodable and too-long drafts get clear errors', async () => {
  const fails = async (over: Partial<RefineRequest>, pattern: RegExp) => {
    await assert.rejects(collect(refine(host, request(over))), (err: Error) => err instanceof RefinerInputError && pattern.test(err.message));
  };
  await fails({ draft: '' }, /draft is empty/);
  await fails({ draft: ' \n\t ' }, /draft is empty/);
  await fails({ draft: 'abc\u0000def' }, /NUL bytes/);
  await fails({ draft: 'caf\uFFFD' }, /replacement characters/);
  await fails({ draft: 'x\uD800y' }, /surrogates/);
  await fails({ draft: 'A sentence.', contextLimit: 64 }, /exceed the model's context of 64 tokens/);
  // Longer text is refined in pieces (split-round.test.ts); one sentence over the context cannot be split.
  await fails({ draft: 'word '.repeat(40000) }, /^One sentence is too long for the follower model even on its own: .* this model takes at most \d+ here \(its context and the memory available, with 10 new tokens\)/);
  await fails({ leaderDraft: true, draft: undefined }, /needs an instruction/);
  await fails({ settings: { topP: 0 } }, /topP must be in \(0, 1\]/);
});
