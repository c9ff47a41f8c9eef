// Supervised warm start on the tiny decoder: a fixed small set of (corrupted prompt, clean target)
// pairs is learned (training loss falls, target log-probs rise), the seed fixes the result, the
// step's loss is -mean log p of its target tokens, and bad examples get clear errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { LoraConfig } from '../../../src/models/lora';
import { initLoraAdapter } from '../../../src/models/lora';
import { Policy } from '../../../src/training/policy';
import { resolveSettings } from '../../../src/training/settings';
import { meanTargetLogprob, trainSft, type SftExample } from '../../../lab/sft';
import { TrainingInputError } from '../../../src/training/data';
import type { StepProgress } from '../../../src/training/trainer';
import { tinyFixture, type TinyFixture } from '../training/fixtures';

// All seven projections (the recipe's choice), unlike the SLHF tests' subset.
const lora: LoraConfig = { rank: 4, alpha: 8, dropout: 0, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] };
const settings = resolveSettings({ lr: 1e-2, steps: 30, batchSize: 4, warmupSteps: 2, lora, intraOpThreads: 1 });
let setup: { f: TinyFixture; policy: Policy };
let policy: Policy;

before(async () => {
  const f = await tinyFixture();
  setup = { f, policy: await Policy.create(f.config, await f.weights(), { lora, intraOpThreads: 1 }) };
  policy = setup.policy;
});
after(() => setup.policy.release().finally(setup.f.cleanup));
const startAdapter = () => initLoraAdapter(setup.f.config, lora, settings.seed);

// The byte tokenizer: one token per character.
const bytes = (text: string) => [...text].map((c) => c.charCodeAt(0));
const PAIRS: [string, string][] = [
  ['teh cat', 'the cat.'], ['a dgo', 'A dog.'], ['hi  there', 'Hi there.'], ['so so', 'So.'],
  ['recieve it', 'Receive it.'], ['ok', 'Ok.'], ['the the end', 'The end.'], ['yes', 'Yes.'],
];
const examples: SftExample[] = PAIRS.map(([x, y]) => ({ prompt: bytes(`${x}>`), target: bytes(y) }));

test('SFT drives the training loss down and raises the targets\' log-prob', async (t) => {
  const start = startAdapter();
  const before = await meanTargetLogprob(policy, examples, start);
  const steps: StepProgress[] = [];
  const result = await trainSft(policy, examples, settings, { onStep: (p) => steps.push(p) });
  const afterLp = await meanTargetLogprob(policy, examples, result.adapter);
  assert.equal(steps.length, 30);
  const first = steps.slice(0, 3).reduce((n, p) => n + p.loss, 0) / 3;
  const last = steps.slice(-3).reduce((n, p) => n + p.loss, 0) / 3;
  // Observed with this seed: loss 7.21 -> 1.93 (mean of the first and last 3 steps); mean target
  // log-prob -7.52 -> -1.72 nats per token.
  t.diagnostic(`loss ${first.toFixed(2)} -> ${last.toFixed(2)}; mean target log-prob ${before.toFixed(2)} -> ${afterLp.toFixed(2)}`);
  assert.ok(last < first / 2, `loss ${first} -> ${last}`);
  assert.ok(afterLp > before + 2, `mean target log-prob ${before} -> ${afterLp}`);
  assert.ok(steps.every((p) => p.kl === 0 && p.followerLoss === p.loss && !p.skipped));
});

test('the step loss is -mean log p of the step\'s target tokens (one step, learning rate irrelevant)', async () => {
  const start = startAdapter();
  const steps: StepProgress[] = [];
  // One batch holding every example: the step's loss is then over the whole set.
  await trainSft(policy, examples, { ...settings, steps: 1, batchSize: examples.length, bucket: 1000 }, { onStep: (p) => steps.push(p) }, start);
  const base = await meanTargetLogprob(policy, examples, startAdapter());
  assert.ok(Math.abs(steps[0].loss + base) < 1e-4, `loss ${steps[0].loss} vs -mean log p ${-base}`);
});

test('gradient accumulation: 2 micro-batches of 4 make the same step as one batch of 8 (the 1/T covers the step)', async () => {
  const one = { ...settings, steps: 1, warmupSteps: 0, bucket: 1000 };
  const whole = await trainSft(policy, examples, { ...one, batchSize: 8 });
  const split = await trainSft(policy, examples, { ...one, batchSize: 4, accumulate: 2 });
  // AdamW's first step hardly depends on the gradient's scale, so the loss checks the normalization.
  assert.ok(Math.abs(whole.last!.loss - split.last!.loss) < 1e-5, `loss ${whole.last!.loss} vs ${split.last!.loss}`);
  whole.adapter.pairs.forEach((p, i) => {
    const q = split.adapter.pairs[i];
    p.b.forEach((v, j) => assert.ok(Math.abs(v - q.b[j]) < 1e-6, `${p.module} B[${j}]: ${v} vs ${q.b[j]}`));
  });
  assert.ok(whole.adapter.pairs.some((p) => p.b.some((v) => v !== 0)), 'the step moved B');
});

test('the same seed gives the same adapter; another seed a different one', async () => {
  const short = { ...settings, steps: 4 };
  const factors = async (seed: number) => (await trainSft(policy, examples, { ...short, seed })).adapter.pairs.flatMap((p) => [...p.a, ...p.b]);
  const a = await factors(0);
  assert.deepEqual(await factors(0), a);
  assert.notDeepEqual(await factors(1), a);
});

test('bad examples are refused with a clear message', async () => {
  await assert.rejects(trainSft(policy, [], settings), (e: Error) => e instanceof TrainingInputError && /no examples/.test(e.message));
  await assert.rejects(trainSft(policy, [{ prompt: [1], target: [] }], settings), /SFT example 0: empty target/);
  await assert.rejects(trainSft(policy, [{ prompt: [1], target: [99999] }], settings), /token id 99999 outside the vocabulary/);
});
