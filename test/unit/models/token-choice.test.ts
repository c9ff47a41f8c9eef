// Token choice: the recorded log-probs against a float64 log-softmax, HF's repetition penalty,
// top-k / top-p supports, seeded reproducibility, and draw frequencies against the filtered distribution.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseToken, temperedSampling, type SamplingParams } from '../../../src/models/token-choice';
import { seededRandom } from '../../../src/base/seeded-random';

const logits = Float32Array.from([2.0, 1.0, 0.5, -1.0, 3.0, -0.5, 0.0, 1.5]);
const base: SamplingParams = { temperature: 1, topP: 1, topK: 0, repetitionPenalty: 1 };

function logSoftmax(values: ArrayLike<number>, t: number): number[] {
  const scaled = Array.from(values, (v) => v / t);
  const max = Math.max(...scaled);
  const lse = max + Math.log(scaled.reduce((s, v) => s + Math.exp(v - max), 0));
  return scaled.map((v) => v - lse);
}

function frequencies(params: SamplingParams, draws: number, previous: number[] = []): number[] {
  const random = seededRandom(123);
  const counts = new Array(logits.length).fill(0);
  for (let i = 0; i < draws; i++) counts[chooseToken(logits, previous, params, random).token]++;
  return counts.map((c) => c / draws);
}

test('the recorded log-prob is log softmax(logits / T) over the full vocabulary, whatever the filters', () => {
  for (const params of [base, { ...base, temperature: 0.5, topK: 2 }, { ...base, temperature: 1.7, topP: 0.5, repetitionPenalty: 1.5 }]) {
    const expected = logSoftmax(logits, params.temperature);
    const random = seededRandom(5);
    for (let i = 0; i < 20; i++) {
      const choice = chooseToken(logits, [0, 4], params, random);
      assert.ok(Math.abs(choice.logprob - expected[choice.token]) < 1e-6);
    }
  }
});

test('greedy picks the (penalized) argmax and records T = 1 log-probs', () => {
  const choice = chooseToken(logits, [], { ...base, temperature: 0 }, () => 0.5);
  assert.equal(choice.token, 4);
  assert.ok(Math.abs(choice.logprob - logSoftmax(logits, 1)[4]) < 1e-6);
  assert.equal(choice.samplingLogprob, 0);
  // Penalty 2 halves token 4's logit to 1.5 < 2.0: token 0 wins (HF: positive logits are divided).
  assert.equal(chooseToken(logits, [4], { ...base, temperature: 0, repetitionPenalty: 2 }, () => 0.5).token, 0);
  // Negative logits are multiplied: token 3 (-1) gets further away, never closer.
  const penalized = frequencies({ ...base, repetitionPenalty: 3 }, 20000, [3]);
  const plain = frequencies(base, 20000);
  assert.ok(penalized[3] < plain[3] / 3);
});

test('a given log sum exp (the graph\'s) normalizes the log-prob at temperature 1 and greedy; at other temperatures it is ignored', () => {
  const lse = Math.log(Array.from(logits).reduce((s, v) => s + Math.exp(v), 0));
  const offset = 0.25; // a normalizer that is visibly not the row's own, to see which one is used
  for (const params of [{ ...base, temperature: 0 }, base]) {
    const given = chooseToken(logits, [], params, seededRandom(9), lse + offset);
    const own = chooseToken(logits, [], params, seededRandom(9));
    assert.equal(given.token, own.token, 'the same choice');
    assert.ok(Math.abs(given.logprob - (own.logprob - offset)) < 1e-9, `T=${params.temperature}: the log-prob uses the given normalizer`);
  }
  const tempered = { ...base, temperature: 0.5 };
  assert.deepEqual(chooseToken(logits, [], tempered, seededRandom(9), lse + offset), chooseToken(logits, [], tempered, seededRandom(9)));
  // Broken weights are still caught when the graph's normalizer is NaN.
  assert.throws(() => chooseToken(Float32Array.of(1, NaN), [], { ...base, temperature: 0 }, () => 0.5, NaN), /non-finite logits/);
});

test('top-k and top-p restrict the support as Hugging Face does', () => {
  const topK = frequencies({ ...base, topK: 3 }, 5000);
  assert.deepEqual(topK.map((f) => f > 0), [true, false, false, false, true, false, false, true]);
  // Sorted probabilities: 4 (0.50), 0 (0.18), 7 (0.11), 1 (0.07)...; top-p 0.6 keeps 4 and 0 (0.68 >= 0.6).
  const p = logSoftmax(logits, 1).map(Math.exp);
  assert.ok(p[4] < 0.6 && p[4] + p[0] >= 0.6);
  const topP = frequencies({ ...base, topP: 0.6 }, 5000);
  assert.deepEqual(topP.map((f) => f > 0), [true, false, false, false, true, false, false, false]);
  const random = seededRandom(1);
  const choice = chooseToken(logits, [], { ...base, topP: 0.6 }, random);
  const kept = p[4] + p[0];
  assert.ok(Math.abs(choice.samplingLogprob - Math.log(p[choice.token] / kept)) < 1e-6);
});

test('draw frequencies follow the tempered distribution', () => {
  const expected = logSoftmax(logits, 0.7).map(Math.exp);
  const observed = frequencies({ ...base, temperature: 0.7 }, 40000);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(observed[i] - expected[i]) < 0.01, `token ${i}: ${observed[i]} vs ${expected[i]}`);
});

test('the same seed gives the same choices', () => {
  const run = (seed: number) => {
    const random = seededRandom(seed);
    return Array.from({ length: 50 }, () => chooseToken(logits, [], { ...base, temperature: 1.3 }, random).token);
  };
  assert.deepEqual(run(9), run(9));
  assert.notDeepEqual(run(9), run(10));
});

test('the one-pass normalizer: a maximum that keeps growing, -Infinity entries, ties to the first index', () => {
  // Rising logits rescale the running sum at every element; -Infinity entries (masked tokens) add nothing.
  const rising = Float32Array.from({ length: 2000 }, (_, i) => (i % 7 === 3 ? -Infinity : i / 40));
  for (const params of [{ ...base, temperature: 0 }, { ...base, temperature: 0.7 }]) {
    const t = params.temperature || 1;
    const expected = logSoftmax(Array.from(rising, (v) => (v === -Infinity ? -1e30 : v)), t);
    const choice = chooseToken(rising, [], params, seededRandom(2));
    assert.ok(Math.abs(choice.logprob - expected[choice.token]) < 1e-6, `${choice.logprob} vs ${expected[choice.token]}`);
  }
  assert.equal(chooseToken(rising, [], { ...base, temperature: 0 }, () => 0.5).token, 1999);
  assert.equal(chooseToken(Float32Array.from([1, 3, 2, 3]), [], { ...base, temperature: 0 }, () => 0.5).token, 1);
  // Every logit -Infinity, or a NaN: refused, greedy or not.
  for (const bad of [Float32Array.from([-Infinity, -Infinity]), Float32Array.from([1, NaN, 2])]) {
    for (const temperature of [0, 1]) assert.throws(() => chooseToken(bad, [], { ...base, temperature }, () => 0.5), /non-finite logits/);
  }
});

test('tempered sampling (online training) draws from softmax(logits / T) and returns the log-prob under it', () => {
  const logits = Float32Array.from([2, 0, -1, 1]);
  const T = 0.7;
  const z = Array.from(logits).reduce((a, l) => a + Math.exp(l / T), 0);
  const probs = Array.from(logits, (l) => Math.exp(l / T) / z);
  const rand = seededRandom(1);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 20000; i++) {
    const { token, logprob } = chooseToken(logits, [], temperedSampling(T), rand);
    counts[token] += 1;
    assert.ok(Math.abs(logprob - Math.log(probs[token])) < 1e-9);
  }
  counts.forEach((c, i) => assert.ok(Math.abs(c / 20000 - probs[i]) < 0.015, `token ${i}: ${c / 20000} vs ${probs[i]}`));
});
