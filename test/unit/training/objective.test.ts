// The SLHF objective's pieces against hand-worked values: KL estimators, truncated importance
// weights, per-token coefficients, leave-one-out baselines, the missing-EOS penalty, the mapping
// from decisions to game terms, settings, schedule and bucketing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importanceWeights, klEstimate, penalizedScore, sampleBaselines, termCoefficients, type ObjectiveSettings } from '../../../src/training/objective';
import { gameScores } from '../../../src/training/trainer';
import type { Sample } from '../../../src/training/data';
import { splitPairs } from '../../../src/training/data';
import { epochBatches, learningRate, resolveSettings, sampleLength } from '../../../src/training/settings';
import { seededRandom } from '../../../src/base/seeded-random';
import { pairSamples, syntheticPairs } from './fixtures';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test('KL estimators k1, k2, k3 of log-probs l (trained) and r (reference)', () => {
  const l = -1.2;
  const r = -0.7;
  close(klEstimate('k1', l, r), -0.5);
  close(klEstimate('k2', l, r), 0.5 * 0.25);
  close(klEstimate('k3', l, r), Math.exp(0.5) - 1 - 0.5);
  for (const k of ['k1', 'k2', 'k3'] as const) close(klEstimate(k, -2, -2), 0);
  // k3 is non-negative and agrees with k2 to second order for small differences.
  close(klEstimate('k3', -1, -1.001), klEstimate('k2', -1, -1.001), 1e-3);
  assert.ok(klEstimate('k3', 0, -3) >= 0 && klEstimate('k3', -3, 0) >= 0);
});

test('k3 clamps the log-ratio r - l to +-40 (as the authors do), so a ruled-out token stays finite', () => {
  const at40 = Math.expm1(40) - 40;
  close(klEstimate('k3', -1000, 0), at40); // r - l = 1000 -> 40
  close(klEstimate('k3', 0, -1000), Math.expm1(-40) + 40); // r - l = -1000 -> -40
  assert.ok(Number.isFinite(klEstimate('k3', -1e6, 0)));
  // Inside the clamp nothing changes (39.5 is not clipped).
  close(klEstimate('k3', -39.5, 0), Math.expm1(39.5) - 39.5);
  // k1 and k2 are not clamped.
  close(klEstimate('k2', -1000, 0), 0.5 * 1000 * 1000);
});

test('importance weights are min(exp(l - behaviour), c), and 1 without behaviour log-probs', () => {
  const w = importanceWeights([-1, -2, -0.1], [-1.5, -1, -3], 2);
  close(w[0], Math.exp(0.5));
  close(w[1], Math.exp(-1));
  assert.equal(w[2], 2);
  assert.deepEqual(importanceWeights([-1, -2], null, 2), [1, 1]);
  assert.throws(() => importanceWeights([-1], [-1, -2], 2), /2 behaviour log-probs for 1 tokens/);
});

test('per-token coefficients: scale * roleWeight * w_t * (beta kl_t - (score - b)), loss = sum coef l', () => {
  const s: ObjectiveSettings = { beta: 0.1, kl: 'k1', baseline: 0.5, followerWeight: 3, isClip: 5 };
  const term = { role: 'follower' as const, score: 1, logprobs: [-1, -2], reference: [-1.5, -1], behaviour: [-1, -2.5] };
  const out = termCoefficients(term, s, 0.25);
  const want = [0.25 * 3 * 1 * (0.1 * 0.5 - 0.5), 0.25 * 3 * Math.exp(0.5) * (0.1 * -1 - 0.5)];
  close(out.coef[0], want[0]);
  close(out.coef[1], want[1]);
  close(out.loss, want[0] * -1 + want[1] * -2);
  close(out.kl, (0.5 + -1) / 2);
  const leader = termCoefficients({ ...term, role: 'leader', score: 0, behaviour: null }, s);
  close(leader.coef[0], 0.1 * 0.5 + 0.5);
});

test('the Follower has its own KL weight (followerBeta; null: beta)', () => {
  const s: ObjectiveSettings = { beta: 0.1, followerBeta: 0.4, kl: 'k1', baseline: 0.5, followerWeight: 1, isClip: 5 };
  const term = { score: 0.5, logprobs: [-1], reference: [-2], behaviour: null };
  // Advantage 0: the coefficient is beta_role * kl = beta_role * (l - r) = beta_role * 1.
  close(termCoefficients({ ...term, role: 'follower' }, s).coef[0], 0.4);
  close(termCoefficients({ ...term, role: 'leader' }, s).coef[0], 0.1);
  close(termCoefficients({ ...term, role: 'follower' }, { ...s, followerBeta: null }).coef[0], 0.1);
});

test('RLOO: in a group of n >= 2 a sample\'s baseline is the mean score of the other n - 1; alone, the constant 0.5', () => {
  const samples = [
    { role: 'follower' as const, group: 'a', score: 1 },
    { role: 'follower' as const, group: 'a', score: 0 },
    { role: 'follower' as const, group: 'a', score: 0 },
    { role: 'follower' as const, group: 'a', score: 0.5 },
    { role: 'follower' as const, group: 'b', score: 1 },
    { role: 'follower' as const, score: 0.9 },
    // Same group name, other role: not a member of the Follower's group 'a'.
    { role: 'leader' as const, group: 'a', score: 0.2 },
  ];
  const b = sampleBaselines(samples, { baseline: 0.5, rloo: true });
  [0.5 / 3, 1.5 / 3, 1.5 / 3, 1 / 3, 0.5, 0.5, 0.5].forEach((want, i) => close(b[i], want));
  assert.deepEqual(sampleBaselines(samples, { baseline: 0.5, rloo: false }), samples.map(() => 0.5));
  // The RLOO coefficients: score - mean(others) per sample; they sum to zero over the group, so a
  // context that every answer wins (or loses) in teaches the Follower nothing.
  const s: ObjectiveSettings = { beta: 0, kl: 'k3', baseline: 0.5, followerWeight: 2, isClip: 2 };
  const coef = samples.slice(0, 4).map((x, i) => termCoefficients({ ...x, baseline: b[i], logprobs: [-1], reference: [-1], behaviour: null }, s).coef[0]);
  [1 - 0.5 / 3, -1.5 / 3, -1.5 / 3, 0.5 - 1 / 3].forEach((adv, i) => close(coef[i], -2 * adv));
  close(coef.reduce((a, c) => a + c, 0), 0);
  const allWin = sampleBaselines([1, 1, 1].map((score) => ({ role: 'follower' as const, group: 'g', score })), { baseline: 0.5, rloo: true });
  assert.deepEqual(allWin, [1, 1, 1]);
});

test('missing-EOS penalty: a completion without an end-of-sequence token scores eosPenalty less, before the baselines', () => {
  assert.equal(penalizedScore(0.8, true, 0.5), 0.8);
  assert.equal(penalizedScore(0.8, false, 0.5), 0.8 - 0.5);
  assert.equal(penalizedScore(0.8, false, 0), 0.8);
  const eos = 281;
  const sample = (completion: number[], score: number): Sample => ({ role: 'follower', prompt: [1], completion, score, behaviour: null, referencePrompt: [1], group: 'g' });
  const done = sample([5, eos], 1);
  const cut = sample([5, 6], 1);
  const scores = gameScores([done, cut], { baseline: 0.5, rloo: true, eosPenalty: 0.25 }, [eos]);
  assert.deepEqual(scores.get(done), { score: 1, baseline: 0.75 });
  assert.deepEqual(scores.get(cut), { score: 0.75, baseline: 1 });
});

test('held-out split is deterministic per seed and id, and keeps every pair once', () => {
  const pairs = syntheticPairs(200, 1);
  const a = splitPairs(pairs, 0.25, 7);
  const b = splitPairs([...pairs].reverse(), 0.25, 7);
  assert.deepEqual(new Set(a.heldOut.map((p) => p.id)), new Set(b.heldOut.map((p) => p.id)));
  assert.equal(a.train.length + a.heldOut.length, 200);
  assert.ok(a.heldOut.length > 30 && a.heldOut.length < 70, `held out ${a.heldOut.length} of 200`);
  assert.notDeepEqual(splitPairs(pairs, 0.25, 8).heldOut.map((p) => p.id), a.heldOut.map((p) => p.id));
});

test('settings: defaults validate, bad values are refused by name; linear warm-up then constant', () => {
  const s = resolveSettings();
  assert.equal(s.kl, 'k3');
  assert.deepEqual(
    [s.rloo, s.followerBeta, s.eosPenalty, s.separateAdapters, s.leaderEvery, s.draftsPerPrompt, s.refinementsPerDraft],
    [true, null, 0, false, 1, 1, 4],
  );
  assert.throws(() => resolveSettings({ followerBeta: -1 }), /followerBeta must be >= 0 or null/);
  assert.throws(() => resolveSettings({ eosPenalty: -0.1 }), /eosPenalty must be >= 0/);
  assert.throws(() => resolveSettings({ refinementsPerDraft: 0 }), /refinementsPerDraft must be a positive integer/);
  assert.throws(() => resolveSettings({ lr: 0 }), /lr must be a positive number/);
  assert.throws(() => resolveSettings({ kl: 'k4' as never }), /kl must be one of k1, k2, k3/);
  assert.throws(() => resolveSettings({ batchSize: 1.5 }), /batchSize must be a positive integer/);
  assert.throws(() => resolveSettings({ lora: { rank: 0, alpha: 1, dropout: 0, targets: ['q'] } }), /rank/);
  const w = { lr: 1e-3, schedule: 'linear-warmup' as const, warmupSteps: 4 };
  assert.deepEqual([1, 2, 4, 5, 100].map((k) => learningRate(w, k)), [2.5e-4, 5e-4, 1e-3, 1e-3, 1e-3]);
  assert.equal(learningRate({ ...w, schedule: 'constant' }, 1), 1e-3);
});

test('length buckets: every sample once per epoch, each batch within one bucket', () => {
  const samples = pairSamples(syntheticPairs(30, 4), true);
  samples.forEach((x, i) => x.completion.push(...new Array(i % 3 === 0 ? 40 : 0).fill(97)));
  const batches = epochBatches(samples, 4, 16, seededRandom(1));
  assert.equal(batches.flat().length, samples.length);
  assert.equal(new Set(batches.flat()).size, samples.length);
  for (const b of batches) {
    assert.ok(b.length <= 4);
    assert.equal(new Set(b.map((x) => Math.ceil(sampleLength(x) / 16))).size, 1);
  }
});
