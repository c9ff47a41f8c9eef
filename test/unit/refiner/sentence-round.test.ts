// The built-in model refines a paragraph sentence by sentence: nothing is truncated (it was: a
// 4-sentence paragraph came back with its first half gone), and a garbled sentence is kept as written.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultModelDir } from '../../../src/models/default-model';
import { ModelHost } from '../../../src/refiner/host';
import { refine } from '../../../src/refiner/loop';
import { guardWhole, needsSentences, refineBySentence } from '../../../src/refiner/sentence-round';
import type { LoadedModel } from '../../../src/refiner/host';
import type { GeneratedText } from '../../../src/refiner/refiner-settings';
import { SCHEMA_VERSION, type SessionRecord } from '../../../src/store/schema';
import { validateRecord } from '../../../src/store/validate';
import { collect, results } from './fixtures';

const cache = mkdtempSync(join(tmpdir(), 'slhf-sentence-round-'));
after(() => rmSync(cache, { recursive: true, force: true }));

const words = (s: string) => s.toLowerCase().match(/[a-z']+/g) ?? [];

test('a 4-sentence paragraph refined by the built-in model keeps every sentence\'s words, and its newline', async () => {
  const paragraph = 'The quarterly report shows that sales went up by ten percent, but costs are rising too. We received a lot of feedback from users about the new design.\nThe team is going to discuss it next week. I think they are right about it.';
  const host = new ModelHost({ cacheDir: cache });
  host.configure({ follower: { spec: defaultModelDir() } });
  try {
    const rounds = results(await collect(refine(host, { draft: paragraph, rounds: 2, settings: { seed: 1 } })));
    assert.ok(rounds.length >= 1);
    for (const r of rounds) {
      const got = new Set(words(r.text));
      const lost = words(paragraph).filter((w) => !got.has(w));
      // A typo fix may change a word or two; the old code lost half the paragraph.
      assert.ok(lost.length <= 2, `lost ${lost.join(', ')} in ${JSON.stringify(r.text)}`);
      assert.equal(r.text.split('\n').length, 2, r.text);
      // Recorded as one round generated per sentence: off-policy for training (no behaviour log-probs).
      assert.deepEqual([r.tokenIds.length, r.logprobs.length], [0, 0]);
      assert.equal(r.prompt.refined !== undefined, true);
    }
    // The store keeps such rounds like any other (through JSON, as it writes them).
    const now = new Date().toISOString();
    const record: SessionRecord = {
      kind: 'session', schemaVersion: SCHEMA_VERSION, id: 's', workspace: 'w', createdAt: now, updatedAt: now, languageId: 'plaintext',
      preset: 'prose', context: '', instruction: '', draft: { text: paragraph, source: 'user' }, rounds, decision: { kind: 'accepted', round: 0, decidedAt: now },
    };
    assert.equal(validateRecord(JSON.parse(JSON.stringify(record))).kind, 'session');
  } finally {
    await host.unloadAll();
  }
});

const fakeModel = { tokenizer: { encode: () => [1, 2, 3] }, source: { modelId: 'm#1', adapterVersion: null } } as unknown as LoadedModel;
const generated = (text: string): GeneratedText => ({
  role: 'follower', round: 1, text, rawText: text, prompt: { preset: 'prose', instruction: '', context: '', text: '', tokenIds: [] },
  tokenIds: [5], logprobs: [-0.5], samplingLogprobs: [0], logprobSum: -0.5, modelId: 'm#1', adapterVersion: null,
  sampling: { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, seed: 1, maxNewTokens: 64 },
  timings: { startedAt: new Date().toISOString(), totalMs: 1 }, stopReason: 'eos', fixedPoint: false,
});

test('a garbled sentence is replaced by its input and flagged; the others are refined; gaps kept', async () => {
  const text = 'teh cat sat. We recieved allot of feedback from users today.\n\nok';
  const outputs = ['The cat sat.', 'We.', 'OK.'];
  const chunks: string[] = [];
  const prompt = { preset: 'prose' as const, instruction: '', context: '', refined: text };
  const round = await refineBySentence(fakeModel, { round: 1, prompt, sampling: generated('').sampling }, text, async (_s, i) => generated(outputs[i]), (c) => chunks.push(c));
  // 'ok' is a line of a multi-line text without a full stop: it gains none (keepLineEnding).
  assert.equal(round.text, 'The cat sat. We recieved allot of feedback from users today.\n\nOK');
  assert.deepEqual(round.garbled, [{ index: 1, input: 'We recieved allot of feedback from users today.', output: 'We.' }]);
  assert.equal(chunks.join(''), round.text);
  assert.equal(round.sentences.length, 3);
  assert.equal(round.prompt.refined, text);
});

test('one sentence is generated whole (its round keeps tokens and log-probs); a garbled one is kept as written, off-policy', () => {
  assert.equal(needsSentences('teh cat sat on the the mat'), false);
  assert.equal(needsSentences('  One sentence only.\n'), false);
  assert.equal(needsSentences('One. Two.'), true);
  const fine = generated('The cat sat on the mat.');
  assert.equal(guardWhole(fine, 'teh cat sat on the the mat'), fine);
  const kept = guardWhole(generated('The.'), 'We received a lot of feedback today.');
  assert.equal(kept.text, 'We received a lot of feedback today.');
  assert.deepEqual([kept.tokenIds, kept.logprobs], [[], []]);
  assert.deepEqual('garbled' in kept && kept.garbled, [{ index: 0, input: 'We received a lot of feedback today.', output: 'The.' }]);
});

test('a single sentence on the built-in model is one generation, recorded on-policy as before', async () => {
  const host = new ModelHost({ cacheDir: cache });
  host.configure({ follower: { spec: defaultModelDir() } });
  try {
    const [round] = results(await collect(refine(host, { draft: 'teh cat sat on the the mat', rounds: 1, harperFirstPass: false, settings: { seed: 1 } })));
    assert.equal(round.text, 'The cat sat on the mat.');
    assert.ok(round.tokenIds.length > 0);
    assert.equal(round.logprobs.length, round.tokenIds.length);
  } finally {
    await host.unloadAll();
  }
});
