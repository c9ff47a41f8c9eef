// Copy-aware speculation: the same seed gives the same tokens, text and log-probs with and without
// it (greedy and sampled, on the built-in model, which copies most of its input, and on a random
// fixture, which rejects most drafts so the cache is cut back often, and on the CPU default export
// for large models: contrib graph, int8, one shared cache buffer), while on copy-heavy input it
// accepts drafts and needs fewer passes than tokens. Plus the prompt lookup itself.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { defaultModelDir } from '../../../src/models/default-model';
import { CPU_DEFAULT_FORMAT, exportOnnx } from '../../../src/models/export';
import { makeTinyModel, TINY_SHAPE } from '../../../src/models/tiny-models/tiny-model';
import { generateText, type GenerateInput, type StepCounters } from '../../../src/refiner/generate';
import { ModelHost } from '../../../src/refiner/host';
import { DEFAULT_DRAFT_TOKENS, draftTokensSetting, lookupDraft } from '../../../src/refiner/speculation';
import type { GeneratedText, GenerationSettings } from '../../../src/refiner/refiner-settings';

type Settings = Partial<GenerationSettings> & { seed?: number };
import { tempRoot, tinyModel } from './fixtures';

const { root, cleanup } = tempRoot('speculation');
let builtIn: ModelHost;
let random: ModelHost;
let quantized: ModelHost;

before(async () => {
  builtIn = new ModelHost({ cacheDir: join(root, 'cache'), idleUnloadMs: 0 });
  builtIn.configure({ follower: { spec: defaultModelDir() } });
  random = new ModelHost({ cacheDir: join(root, 'cache'), idleUnloadMs: 0 });
  random.configure({ follower: { spec: await tinyModel(join(root, 'tiny')) } });
  // The refiner's CPU default for large models (contrib graph, int8, one shared cache buffer) on a small shape.
  const checkpoint = join(root, 'shaped');
  await makeTinyModel({ ...TINY_SHAPE, arch: 'qwen2', tokenizer: 'bytes', out: checkpoint, seed: 2 });
  await exportOnnx(checkpoint, join(root, 'shaped-int8'), CPU_DEFAULT_FORMAT);
  quantized = new ModelHost({ cacheDir: join(root, 'cache'), idleUnloadMs: 0 });
  quantized.configure({ follower: { spec: join(root, 'shaped-int8') } });
});

after(async () => {
  await builtIn.unloadAll();
  await random.unloadAll();
  await quantized.unloadAll();
  cleanup();
});

const TEXT = 'teh quick brown fox jumps over the the lazy dog and then it runs back to its den in the woods';

async function generate(host: ModelHost, settings: Settings, draftTokens: number): Promise<{ result: GeneratedText; counters: StepCounters }> {
  const counters: StepCounters = { steps: 0, stepsAfterAbort: 0 };
  const input: GenerateInput = {
    role: 'follower', round: 1, original: TEXT, prompt: { preset: 'prose', instruction: '', context: '', followerInstruction: 'Improve the previous answer.', refined: TEXT },
    settings: { maxNewTokens: 120, temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, seed: 5, ...settings },
    draftTokens,
  };
  const result = await host.use('follower', (m) => generateText(m, input, counters));
  return { result, counters };
}

function assertSameGeneration(plain: GeneratedText, fast: GeneratedText, what: string): void {
  assert.deepEqual(fast.tokenIds, plain.tokenIds, what);
  assert.equal(fast.text, plain.text, what);
  assert.equal(fast.stopReason, plain.stopReason, what);
  for (const key of ['logprobs', 'samplingLogprobs'] as const) {
    assert.equal(fast[key].length, plain[key].length);
    plain[key].forEach((lp, i) => assert.ok(Math.abs(lp - fast[key][i]) < 1e-4, `${what}, ${key}[${i}]: ${lp} vs ${fast[key][i]}`));
  }
}

const SETTINGS: [string, Settings][] = [
  ['greedy', { temperature: 0 }],
  ['sampled', { temperature: 1, topP: 0.95, seed: 11 }],
  ['sampled with top-k and a repetition penalty', { temperature: 0.8, topK: 20, repetitionPenalty: 1.2, seed: 12 }],
];

test('the built-in model: same seed, same tokens, text and log-probs with and without speculation; drafts accepted', async () => {
  for (const [label, settings] of SETTINGS) {
    const plain = await generate(builtIn, settings, 0);
    const fast = await generate(builtIn, settings, 8);
    assertSameGeneration(plain.result, fast.result, label);
    assert.equal(plain.counters.drafted, 0, `${label}: drafts 0 means no speculation`);
    assert.equal(plain.counters.steps, plain.result.tokenIds.length, `${label}: one pass per token without speculation`);
    assert.ok(fast.counters.accepted! > 0, `${label}: no draft accepted`);
    assert.ok(fast.counters.steps < plain.counters.steps, `${label}: ${fast.counters.steps} passes with speculation, ${plain.counters.steps} without`);
    // Every emitted token came from a pass: accepted drafts plus one chosen token per pass.
    assert.equal(fast.result.tokenIds.length, fast.counters.accepted! + fast.counters.steps, label);
  }
  // Greedy on copy-heavy input copies most of it.
  const greedy = await generate(builtIn, { temperature: 0 }, 8);
  assert.ok(greedy.counters.accepted! / greedy.counters.drafted! > 0.5, `acceptance ${greedy.counters.accepted}/${greedy.counters.drafted}`);
});

test('a random model (drafts mostly rejected, the cache cut back each time): same tokens and log-probs', async () => {
  for (const [label, settings] of SETTINGS) {
    const plain = await generate(random, settings, 0);
    const fast = await generate(random, settings, 4);
    assertSameGeneration(plain.result, fast.result, label);
    // Greedy decoding of a random model falls into a repeated token, which drafts predict exactly.
    if (label !== 'greedy') assert.ok(fast.counters.drafted! > fast.counters.accepted!, `${label}: some drafts were rejected (${JSON.stringify(fast.counters)})`);
  }
});

test('the CPU default export (contrib graph, int8, shared cache buffer): drafts verified on a filled cache, same tokens and log-probs', async () => {
  for (const [label, settings] of SETTINGS) {
    const plain = await generate(quantized, settings, 0);
    const fast = await generate(quantized, settings, 4);
    assertSameGeneration(plain.result, fast.result, label);
    // Passes after the prompt's verified drafts on the cache the prompt filled.
    assert.ok(fast.counters.verifySteps! > 1, `${label}: ${JSON.stringify(fast.counters)}`);
    assert.equal(fast.result.tokenIds.length, fast.counters.accepted! + fast.counters.steps, label);
  }
});

test('prompt lookup proposes what followed the latest earlier occurrence of the longest suffix', () => {
  // Suffix [2, 3] occurs at 1 (followed by 4, 5, 6) and at 5 (followed by 9): the latest wins.
  assert.deepEqual(lookupDraft([1, 2, 3, 4, 2, 3, 9, 7, 2, 3], 3), [9, 7, 2]);
  // [8, 2, 3] would be longer, but only [2, 3] occurs earlier; k caps the draft.
  assert.deepEqual(lookupDraft([1, 2, 3, 4, 5, 6, 8, 2, 3], 2), [4, 5]);
  // A three-token suffix beats a shorter, later match.
  assert.deepEqual(lookupDraft([7, 2, 3, 4, 0, 3, 5, 7, 2, 3], 1), [4]);
  // A match running into the end continues with the draft itself: a repeating run is drafted whole.
  assert.deepEqual(lookupDraft([4, 1, 2, 1, 2], 5), [1, 2, 1, 2, 1]);
  assert.deepEqual(lookupDraft([1, 2, 3], 4), []); // 3 never occurred before
  assert.deepEqual(lookupDraft([1, 2, 1, 2], 0), []);
  assert.deepEqual(lookupDraft([5], 3), []);
});

test('SLHF_DRAFT_TOKENS sets the draft length (0: off); anything else is refused', () => {
  assert.equal(draftTokensSetting({}), DEFAULT_DRAFT_TOKENS);
  assert.equal(draftTokensSetting({ SLHF_DRAFT_TOKENS: '0' }), 0);
  assert.equal(draftTokensSetting({ SLHF_DRAFT_TOKENS: ' 4 ' }), 4);
  for (const bad of ['-1', '2.5', 'on']) assert.throws(() => draftTokensSetting({ SLHF_DRAFT_TOKENS: bad }), /SLHF_DRAFT_TOKENS must be a whole number/);
});
