// The whole learning path on a tiny fixture model and its real (byte-level BPE, ChatML) tokenizer:
// the refiner generates, the store records sessions and decisions, game.ts maps each decision to
// game samples, and game-tokens.ts tokenizes them for the trainer. Every sample's prompt,
// completion and score is checked, and the recorded behaviour log-probs are checked against the
// model's own log-probs under the sample's prompt: they agree only if the prompt is the one that
// generated the text.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureTokenizer } from '../../../src/models/tiny-models/tokenizers';
import { DEFAULT_FOLLOWER_INSTRUCTION, leaderMessages, PRESETS, refinementMessages, renderPrompt, type ChatMessage } from '../../../src/models/prompts';
import { openScorer, type Scorer } from '../../../src/models/score';
import { loadTokenizer, type TextTokenizer } from '../../../src/models/tokenizer';
import { ModelHost } from '../../../src/refiner/host';
import { refine, type RefineRequest } from '../../../src/refiner/loop';
import type { GeneratedText } from '../../../src/refiner/refiner-settings';
import { gameSamples } from '../../../src/store/game';
import { sampleSummary, trainingSamples, type TrainingSample } from '../../../src/store/game-tokens';
import { createLogger } from '../../../src/store/logger';
import { upgradeRecord } from '../../../src/store/migrate';
import { SCHEMA_VERSION, type Decision, type FollowerRound, type SessionRecord, type StoreRecord } from '../../../src/store/schema';
import { PreferenceStore } from '../../../src/store/store';
import { validateSample } from '../../../src/training/data';
import { collect, results, tempRoot, tinyModel } from '../refiner/fixtures';

const { root, cleanup } = tempRoot('game');
let host: ModelHost;
let scorer: Scorer;
let tokenizer: TextTokenizer;
let store: PreferenceStore;
let EOT: number; // <|im_end|>, the fixture model's end of turn
const AT = '2026-03-01T10:00:05.000Z';
const CUSTOM = 'Tighten it; keep the meaning.';

before(async () => {
  const modelDir = await tinyModel(join(root, 'tiny'));
  host = new ModelHost({ cacheDir: join(root, 'cache'), idleUnloadMs: 0 });
  host.configure({ leader: { spec: modelDir }, follower: { spec: modelDir } });
  scorer = await openScorer(modelDir);
  tokenizer = await loadTokenizer(modelDir);
  [EOT] = tokenizer.encode('<|im_end|>', { add_special_tokens: false });
  store = await PreferenceStore.open(join(root, 'store'), { logger: createLogger({ level: 'silent' }) });
});

after(async () => {
  await host.unloadAll();
  await scorer.release();
  cleanup();
});

// What the editor keeps of a generated text (src/ui/history.ts).
const kept = (r: GeneratedText): FollowerRound => ({
  text: r.text, prompt: r.prompt, modelId: r.modelId, adapterVersion: r.adapterVersion, sampling: r.sampling, tokenIds: r.tokenIds, logprobs: r.logprobs, timings: r.timings,
});

/** Runs the refiner and records its session in the store, as the editor does; then the decision. */
async function session(id: string, request: Partial<RefineRequest>, decision: (rounds: GeneratedText[]) => Decision, preset?: string): Promise<{ record: SessionRecord; leader?: GeneratedText; rounds: GeneratedText[] }> {
  const events = await collect(refine(host, { rounds: 3, languageId: 'markdown', settings: { seed: 5, maxNewTokens: 8, temperature: 1 }, ...request }));
  const all = results(events);
  const leader = all.find((r) => r.role === 'leader');
  const rounds = all.filter((r) => r.role === 'follower');
  assert.ok(rounds.every((r, i) => r.text !== (i === 0 ? (leader?.text ?? request.draft) : rounds[i - 1].text)), 'no fixed point (the test wants distinct texts)');
  const draft = leader ? leader.text : request.draft!;
  await store.createSession({
    id, workspace: 'w', languageId: request.languageId ?? 'markdown', preset: preset ?? rounds[0].prompt.preset, context: request.context ?? '', instruction: request.instruction ?? '',
    draft: leader ? { text: draft, source: 'leader', generation: { ...kept(leader) } } : { text: draft, source: 'user' },
    rounds: rounds.map(kept),
  });
  const record = await store.decide(id, decision(rounds));
  return { record, leader, rounds };
}

const options = () => ({ endOfTurn: EOT, leader: true, followerReference: 'standard' as const });
const samplesOf = (record: StoreRecord) => trainingSamples([record], tokenizer, options());
const rendered = (messages: ChatMessage[]) => renderPrompt(tokenizer, messages).text;
const encode = (text: string) => tokenizer.encode(text, { add_special_tokens: false });
const brief = (samples: TrainingSample[]) => samples.map((s) => [s.role, s.transition, s.score, s.behaviour !== null]);

/** The recorded behaviour log-probs are the model's own log-probs of the completion under the sample's prompt. */
async function assertOnPolicy(sample: TrainingSample): Promise<void> {
  const [scored] = await scorer.score([{ ids: [...sample.prompt, ...sample.completion], from: sample.prompt.length }]);
  sample.behaviour!.forEach((b, i) => assert.ok(Math.abs(scored[i] - b) < 1e-4, `${sample.record} ${sample.transition} token ${i}: scored ${scored[i]}, recorded ${b}`));
}

test('accepted round 2 of 3 (a Leader draft, a custom follower instruction): r1 -> r2 wins, r2 -> r3 loses, each under the prompt that generated it', async () => {
  // The UI stored the preset it computed for the drafted text; the refiner used the kind the user picked.
  const { record, rounds } = await session('multi', {
    leaderDraft: true, instruction: 'Write a line about foxes.', languageId: 'python', kind: 'commit-message', followerInstruction: CUSTOM, context: 'def fox(): pass',
  }, () => ({ kind: 'accepted', round: 1, decidedAt: AT }), 'code-comment');
  const samples = samplesOf(record);
  // d -> r1 compares two texts that both lost to r2: not scored, and so no Leader sample either.
  assert.deepEqual(brief(samples), [['follower', 'r1->r2', 1, true], ['follower', 'r2->r3', 0, true]]);
  const [won, lost] = samples;
  // Round k's prompt refines round k-1's text with the custom instruction and the refiner's preset.
  assert.deepEqual(won.prompt, rounds[1].prompt.tokenIds);
  assert.deepEqual(lost.prompt, rounds[2].prompt.tokenIds);
  const x = { preset: PRESETS['commit-message'], instruction: 'Write a line about foxes.', context: 'def fox(): pass' };
  assert.equal(won.promptText, rendered(refinementMessages(leaderMessages(x), rounds[0].text, CUSTOM)));
  assert.equal(lost.promptText, rendered(refinementMessages(leaderMessages(x), rounds[1].text, CUSTOM)));
  assert.ok(won.promptText.includes(CUSTOM) && won.promptText.includes(PRESETS['commit-message'].system));
  assert.deepEqual([won.completion, won.behaviour, won.completionText], [rounds[1].tokenIds, rounds[1].logprobs, rounds[1].text]);
  assert.deepEqual([lost.completion, lost.behaviour, lost.completionText], [rounds[2].tokenIds, rounds[2].logprobs, rounds[2].text]);
  assert.deepEqual(samples.map((s) => s.temperature), [1, 1]);
  assert.notEqual(won.group, lost.group);
  for (const s of samples) await assertOnPolicy(s);
  // The Leader's x as the Leader saw it: the leader-free reference scores the Follower under it.
  const leaderFree = trainingSamples([record], tokenizer, { ...options(), followerReference: 'leader-free' });
  assert.equal(leaderFree[0].referencePrompt.length, leaderFree[0].context.length);
  assert.deepEqual(leaderFree[0].context, tokenizer.encode(rendered(leaderMessages(x)), { add_special_tokens: false }));
});

test('accepted round 1 of a Leader draft: the Leader\'s draft lost to round 1 (score 0), under the prompt that drafted it', async () => {
  const { record, leader, rounds } = await session('drafted', { leaderDraft: true, instruction: 'Say hi.', rounds: 2 }, () => ({ kind: 'accepted', round: 0, decidedAt: AT }));
  const samples = samplesOf(record);
  assert.deepEqual(brief(samples), [['leader', 'x->r0', 0, true], ['follower', 'r0->r1', 1, true], ['follower', 'r1->r2', 0, true]]);
  assert.deepEqual([samples[0].prompt, samples[0].completion, samples[0].behaviour], [leader!.prompt.tokenIds, leader!.tokenIds, leader!.logprobs]);
  assert.deepEqual(samples[1].prompt, rounds[0].prompt.tokenIds);
  for (const s of samples) await assertOnPolicy(s);
});

test('rejected: only d -> r1 is scored (p = 1: Follower 0, Leader 1), however many rounds were shown', async () => {
  const { record, rounds } = await session('rejected', { draft: 'teh cat sat on teh mat' }, () => ({ kind: 'rejected', decidedAt: AT }));
  const samples = samplesOf(record);
  assert.deepEqual(brief(samples), [['leader', 'x->r0', 1, false], ['follower', 'r0->r1', 0, true]]);
  const [leader, follower] = samples;
  // The user wrote the draft: the Leader's prompt is x, the completion the draft's tokens, no behaviour.
  assert.equal(leader.promptText, rendered(leaderMessages({ preset: PRESETS.prose, instruction: '' })));
  assert.deepEqual(leader.completion, [...encode('teh cat sat on teh mat'), EOT]);
  assert.equal(leader.temperature, undefined);
  assert.deepEqual([follower.prompt, follower.completion], [rounds[0].prompt.tokenIds, rounds[0].tokenIds]);
  assert.ok(follower.promptText.includes(`<|im_start|>assistant\nteh cat sat on teh mat<|im_end|>\n<|im_start|>user\n${DEFAULT_FOLLOWER_INSTRUCTION}`));
  await assertOnPolicy(follower);
});

test('accepted-edited round 1 into f: the kept round wins once, its successor loses, and the edit wins as an off-policy refinement of it', async () => {
  const f = 'The cat sat on the mat.';
  const { record, rounds } = await session('edited', { draft: 'teh cat sat on teh mat', rounds: 2 }, () => ({ kind: 'accepted-edited', round: 0, finalText: f, decidedAt: AT }));
  const samples = samplesOf(record);
  assert.deepEqual(brief(samples), [['leader', 'x->r0', 0, false], ['follower', 'r0->r1', 1, true], ['follower', 'r1->r2', 0, true], ['follower', 'r1->edit', 1, false]]);
  const [, keptWins, next, edit] = samples;
  // The kept round appears once, winning: nothing cancels its push (it was +0.5 and -0.5 before).
  assert.deepEqual(samples.filter((s) => s.completionText === rounds[0].text).map((s) => s.score), [1]);
  assert.deepEqual(keptWins.completion, rounds[0].tokenIds);
  // The edit refines round 1: the prompt that generated round 2 from it, so the two share a group.
  assert.deepEqual(edit.prompt, rounds[1].prompt.tokenIds);
  assert.deepEqual(next.prompt, rounds[1].prompt.tokenIds);
  assert.equal(edit.group, next.group);
  assert.notEqual(edit.group, keptWins.group);
  assert.deepEqual([edit.completion, edit.completionText, edit.behaviour, edit.temperature], [[...encode(f), EOT], f, null, 1]);
  for (const s of [keptWins, next]) await assertOnPolicy(s);
});

test('an edit of the last round refines it under the prompt the refiner would have built', async () => {
  const f = 'A cat sat.';
  const { record, rounds } = await session('edited-last', { draft: 'cat sat', rounds: 2 }, () => ({ kind: 'accepted-edited', round: 1, finalText: f, decidedAt: AT }));
  const samples = samplesOf(record);
  assert.deepEqual(brief(samples), [['follower', 'r1->r2', 1, true], ['follower', 'r2->edit', 1, false]]);
  assert.equal(samples[1].promptText, rendered(refinementMessages(leaderMessages({ preset: PRESETS.prose }), rounds[1].text)));
});

test('undone after Accept: the user kept the draft after seeing every round, so it maps as a rejection', async () => {
  const { record, rounds } = await session('undone', { draft: 'teh cat sat on teh mat', rounds: 2 }, () => ({ kind: 'undone', round: 1, acceptedAt: AT, decidedAt: '2026-03-01T10:00:09.000Z' }));
  const samples = samplesOf(record);
  assert.deepEqual(brief(samples), [['leader', 'x->r0', 1, false], ['follower', 'r0->r1', 0, true]]);
  assert.deepEqual(samples[1].prompt, rounds[0].prompt.tokenIds);
  // Not the accepted mapping it replaced: the undone round gets no win.
  assert.ok(!samples.some((s) => s.completionText === rounds[1].text));
  assert.deepEqual((await store.stats()).byDecision.undone, 1);
});

test('a pending session teaches nothing yet', async () => {
  const { record } = await session('pending', { draft: 'hello', rounds: 1 }, () => ({ kind: 'pending' }));
  assert.deepEqual(samplesOf(record), []);
});

test('an imported pair: the Follower refines rejected into chosen (score 1) and chosen into rejected (score 0) under x', () => {
  const record: StoreRecord = { kind: 'imported-pair', schemaVersion: SCHEMA_VERSION, id: 'imp', workspace: 'imported', importedAt: AT, source: 'hh.jsonl', prompt: 'Fix: teh cat', chosen: 'The cat.', rejected: 'Teh cat.' };
  const samples = samplesOf(record);
  assert.deepEqual(brief(samples), [['leader', 'x->chosen', 1, false], ['leader', 'x->rejected', 0, false], ['follower', 'rejected->chosen', 1, false], ['follower', 'chosen->rejected', 0, false]]);
  const x: ChatMessage[] = [{ role: 'user', content: 'Fix: teh cat' }];
  assert.deepEqual(samples.map((s) => s.promptText), [rendered(x), rendered(x), rendered(refinementMessages(x, 'Teh cat.')), rendered(refinementMessages(x, 'The cat.'))]);
  assert.deepEqual(samples.map((s) => s.completionText), ['The cat.', 'Teh cat.', 'The cat.', 'Teh cat.']);
  // The Leader's two answers to one x are one group (the RLOO baseline compares them); the Follower's prompts differ.
  assert.equal(samples[0].group, samples[1].group);
  assert.notEqual(samples[2].group, samples[3].group);
});

test('a v2 session (no recorded prompts) gets round k\'s prompt from round k-1 and its stored preset; its recorded ids are kept', async () => {
  const { record, rounds } = await session('migrated', { draft: 'teh cat sat', rounds: 2 }, () => ({ kind: 'accepted', round: 1, decidedAt: AT }));
  const v2 = { ...record, schemaVersion: 2, rounds: record.rounds.map(({ prompt: _, ...round }) => round) };
  const migrated = upgradeRecord(v2);
  const samples = samplesOf(migrated);
  assert.deepEqual(brief(samples), [['follower', 'r1->r2', 1, true]]);
  // The default instruction and the stored preset re-render exactly what generated round 2.
  assert.equal(samples[0].promptText, rounds[1].prompt.text);
  assert.deepEqual(samples[0].prompt, rounds[1].prompt.tokenIds);
  await assertOnPolicy(samples[0]);
});

test('another model family: prompts re-rendered with its template, completions retokenized, no behaviour log-probs', async () => {
  const qwen = fixtureTokenizer('qwen3');
  const dir = join(root, 'qwen3-tokenizer');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tokenizer.json'), qwen.tokenizerJson);
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(qwen.tokenizerConfig));
  const other = await loadTokenizer(dir);
  const record = (await store.get('multi'))!;
  const samples = trainingSamples([record], other, { ...options(), endOfTurn: qwen.endOfTurnIds[0] });
  assert.deepEqual(brief(samples), [['follower', 'r1->r2', 1, false], ['follower', 'r2->r3', 0, false]]);
  const round2 = (record as SessionRecord).rounds[1];
  assert.notEqual(samples[0].promptText, round2.prompt.text);
  assert.ok(samples[0].promptText.includes(CUSTOM));
  assert.deepEqual(samples[0].completion, [...other.encode(round2.text, { add_special_tokens: false }), qwen.endOfTurnIds[0]]);
});

test('every sample is valid trainer input, and the dry-run summary says what it teaches', async () => {
  const records = await store.records();
  const samples = trainingSamples(records, tokenizer, options());
  assert.equal(samples.length, records.flatMap(gameSamples).length);
  samples.forEach((s, i) => validateSample(s, fixtureTokenizer('bytes').modelVocabSize, `${i}`));
  const rejected = samples.find((s) => s.record === 'rejected' && s.role === 'follower')!;
  assert.deepEqual(sampleSummary(rejected), {
    role: 'follower', record: 'rejected', prompt: rejected.promptText,
    completion: (records.find((r) => r.id === 'rejected') as SessionRecord).rounds[0].text, score: 0, behaviour: true,
    tokens: Math.max(rejected.prompt.length, rejected.referencePrompt.length) + rejected.completion.length,
  });
  // Follower-only training leaves the Leader's samples out.
  assert.ok(trainingSamples(records, tokenizer, { ...options(), leader: false }).every((s) => s.role === 'follower'));
});

test('identical texts say nothing: a fixed point or an edit that lands on the next round changes which transitions are scored', async () => {
  const base = (await store.get('edited')) as SessionRecord;
  const [r1, r2] = base.rounds;
  // The loop stopped at a fixed point (round 2 returned round 1's text) and the user accepted round 2:
  // the chosen text is round 1's too, so round 1 wins over the draft and the identical pair is left out.
  const fixed = { ...base, rounds: [r1, { ...r2, text: r1.text }], decision: { kind: 'accepted', round: 1, decidedAt: AT } } as SessionRecord;
  assert.deepEqual(gameSamples(fixed).map((s) => [s.role, s.transition, s.score]), [['leader', 'x->r0', 0], ['follower', 'r0->r1', 1]]);
  // An edit of round 1 into exactly round 2's text: round 2 did not lose.
  const landed = { ...base, decision: { kind: 'accepted-edited', round: 0, finalText: r2.text, decidedAt: AT } } as SessionRecord;
  assert.deepEqual(gameSamples(landed).map((s) => [s.role, s.transition, s.score]), [['leader', 'x->r0', 0], ['follower', 'r0->r1', 1], ['follower', 'r1->edit', 1]]);
});
