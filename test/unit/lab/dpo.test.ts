// DPO, the Bradley–Terry baseline of the closed-loop benchmark: its per-token coefficients are the
// derivatives of the DPO loss with respect to each token's log-prob (checked by finite differences
// of the loss), and training on pairs that prefer '.' endings over '!' endings teaches held-out
// pairs the same preference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../../src/base/seeded-random';
import type { Sample, TrainingPair } from '../../../src/training/data';
import { dpoObjective, trainDpo } from '../../../lab/dpo';
import { evaluatePairs } from '../../../src/training/evaluate';
import { Policy } from '../../../src/training/policy';
import { resolveSettings } from '../../../src/training/settings';
import { zeroAdapter } from '../../../src/training/trainer';
import { tinyFixture } from '../training/fixtures';

const sample = (n: number): Sample => ({ role: 'follower', prompt: [1, 2], completion: Array.from({ length: n }, (_, i) => 3 + i), score: 0, behaviour: null, referencePrompt: [1, 2] });
const logSigmoid = (z: number) => -Math.log1p(Math.exp(-z));

test('DPO coefficients are the loss derivatives with respect to every token log-prob', () => {
  const rand = seededRandom(5);
  const batch = [sample(3), sample(2), sample(4), sample(1)]; // two pairs: (0 > 1), (2 > 3)
  const reference = new Map(batch.map((s) => [s, s.completion.map(() => -1 - rand())]));
  const current = batch.map((s) => s.completion.map(() => -1 - 2 * rand()));
  const beta = 0.7;
  const loss = (lp: number[][]) => {
    let total = 0;
    for (let i = 0; i < 4; i += 2) {
      const r = (j: number) => lp[j].reduce((a, b) => a + b, 0) - reference.get(batch[j])!.reduce((a, b) => a + b, 0);
      total += -logSigmoid(beta * (r(i) - r(i + 1))) / 2;
    }
    return total;
  };
  const terms = dpoObjective(beta, reference).terms(batch, current, [batch]);
  assert.ok(Math.abs(terms.reduce((n, t) => n + t.loss, 0) - loss(current)) < 1e-12);
  const h = 1e-6;
  current.forEach((row, j) => row.forEach((_, t) => {
    const plus = current.map((r) => [...r]);
    const minus = current.map((r) => [...r]);
    plus[j][t] += h;
    minus[j][t] -= h;
    const fd = (loss(plus) - loss(minus)) / (2 * h);
    assert.ok(Math.abs(terms[j].coef[t] - fd) < 1e-7, `sequence ${j} token ${t}: coefficient ${terms[j].coef[t]} vs finite difference ${fd}`);
  }));
});

/** Two Follower refinements of one draft: the '.' ending is preferred over the '!' ending. */
function endingPairs(count: number, seed: number): TrainingPair[] {
  const rand = seededRandom(seed);
  const letters = (n: number) => Array.from({ length: n }, () => 97 + Math.floor(rand() * 26));
  return Array.from({ length: count }, (_, i) => {
    const prompt = [62, ...letters(4), 124];
    const stem = letters(3);
    return {
      id: `e-${seed}-${i}`, leaderPrompt: prompt, followerPrompt: prompt,
      chosen: { ids: [...stem, 46], kind: 'refinement', behaviour: null },
      rejected: { ids: [...stem, 33], kind: 'refinement', behaviour: null },
    };
  });
}

test('DPO training teaches held-out pairs the preference', async (t) => {
  const f = await tinyFixture();
  const lora = { rank: 4, alpha: 8, dropout: 0, targets: ['q', 'v', 'down'] as ('q' | 'v' | 'down')[] };
  const policy = await Policy.create(f.config, await f.weights(), { lora, intraOpThreads: 1 });
  try {
    const settings = resolveSettings({ lora, lr: 1e-2, steps: 25, batchSize: 8, warmupSteps: 2, intraOpThreads: 1 });
    const result = await trainDpo(policy, endingPairs(32, 1), settings, 0.5);
    const heldOut = endingPairs(16, 2);
    const feeds = policy.adapterFeeds(result.adapter);
    const base = policy.adapterFeeds(zeroAdapter(result.adapter));
    const before = await evaluatePairs(policy, heldOut, base, base);
    const after = await evaluatePairs(policy, heldOut, feeds, base);
    // The per-pair DPO losses of the last step (the step's `loss` is the surrogate sum coef * log p).
    const dpoLoss = result.last!.followerLoss;
    // Observed: accuracy 0.5 -> 0.875, DPO loss 0.69 -> below 0.4.
    t.diagnostic(`held-out accuracy ${before.accuracy} -> ${after.accuracy}; last step's DPO loss ${dpoLoss}`);
    assert.ok(after.accuracy >= 0.8 && after.accuracy > before.accuracy + 0.25, `held-out accuracy ${before.accuracy} -> ${after.accuracy}`);
    assert.ok(dpoLoss < 0.5, `final DPO loss ${dpoLoss} is not well below log 2`);
  } finally {
    await policy.release();
    f.cleanup();
  }
});
