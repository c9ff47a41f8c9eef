// The real training graph (the SLHF surrogate loss over buildLogProbGraph with LoRA inputs), in
// float64: its LoRA gradients match central finite differences of its own loss, and that loss is
// sum_t coef_t * l_t with l_t the probe's per-token log-probs (coefficients land on the right tokens);
// with rows at different sampling temperatures the log-probs are those of softmax(logits / T) and the
// gradients still match finite differences.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Feed } from '../../../src/onnx';
import { loraInputName } from '../../../src/models/graphs';
import { initLoraAdapter, type LoraConfig } from '../../../src/models/lora';
import { seededRandom } from '../../../src/base/seeded-random';
import type { ScoreRow } from '../../../src/models/score';
import { termCoefficients } from '../../../src/training/objective';
import { Policy } from '../../../src/training/policy';
import { tinyFixture } from './fixtures';

const lora: LoraConfig = { rank: 2, alpha: 4, dropout: 0, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] };

test('LoRA gradients of the training graph pass a central finite-difference check (float64)', async () => {
  const f = await tinyFixture(11);
  after(f.cleanup);
  const policy = await Policy.create(f.config, await f.weights(), { lora, dtype: 'float64' });
  after(() => policy.release());
  const rand = seededRandom(9);
  const adapter = initLoraAdapter(f.config, lora, 2);
  for (const p of adapter.pairs) for (let i = 0; i < p.b.length; i++) p.b[i] = (rand() - 0.5) * 0.4;
  const { feeds, values } = perturbableFeeds(policy, adapter);
  // Rows of different lengths (left padding) and coefficients from the objective.
  const rows: ScoreRow[] = [{ ids: [60, 61, 62, 63, 64, 65, 66, 46, 281], from: 4 }, { ids: [70, 71, 72, 33, 281], from: 3 }];
  const current = await policy.logprobs(rows, feeds);
  const coefs = current.map((l, i) => termCoefficients({
    role: 'follower', score: i, logprobs: l, reference: l.map((x) => x + 0.3 * (rand() - 0.5)), behaviour: l.map((x) => x - 0.1),
  }, { beta: 0.5, kl: 'k3', baseline: 0.5, followerWeight: 2, isClip: 2 }).coef);

  const worst = await checkAgainstFiniteDifferences(policy, rows, coefs, feeds, values, current, rand);
  // Both factors of every adapted projection were checked.
  assert.ok(values.has(loraInputName('model.layers.0.mlp.down_proj', 'B')) && values.size === 14, `checked ${values.size} tensors, worst ${worst}`);
});

/** Asserts loss = sum coef * l and every LoRA gradient against central differences; returns the worst relative error. */
async function checkAgainstFiniteDifferences(
  policy: Policy, rows: ScoreRow[], coefs: number[][], feeds: Record<string, Feed>, values: Map<string, Float64Array>, current: number[][], rand: () => number,
): Promise<number> {
  const { loss, grads } = await policy.gradients(rows, coefs, feeds);
  const expected = current.reduce((acc, l, i) => acc + l.reduce((a, x, t) => a + x * coefs[i][t], 0), 0);
  assert.ok(Math.abs(loss - expected) < 1e-9 * Math.max(1, Math.abs(expected)), `loss ${loss} vs sum coef*l ${expected}`);
  const h = 1e-6;
  let worst = 0;
  for (const [name, data] of values) {
    const g = grads.get(name)!;
    let maxNumeric = 0;
    let maxErr = 0;
    for (let k = 0; k < 5; k++) {
      const i = Math.floor(rand() * data.length);
      const saved = data[i];
      data[i] = saved + h;
      const up = (await policy.gradients(rows, coefs, feeds)).loss;
      data[i] = saved - h;
      const down = (await policy.gradients(rows, coefs, feeds)).loss;
      data[i] = saved;
      const numeric = (up - down) / (2 * h);
      maxNumeric = Math.max(maxNumeric, Math.abs(numeric));
      maxErr = Math.max(maxErr, Math.abs(numeric - g[i]));
    }
    const rel = maxErr / Math.max(maxNumeric, 1e-8);
    worst = Math.max(worst, rel);
    assert.ok(rel < 1e-5, `${name}: relative error ${rel}`);
  }
  return worst;
}

/** float64 copies of an adapter's feeds that a test can perturb in place. */
function perturbableFeeds(policy: Policy, adapter: ReturnType<typeof initLoraAdapter>) {
  const feeds: Record<string, Feed> = {};
  const values = new Map<string, Float64Array>();
  for (const [name, feed] of Object.entries(policy.adapterFeeds(adapter))) {
    const data = Float64Array.from(feed.data as Float64Array);
    values.set(name, data);
    feeds[name] = { ...feed, data } as Feed;
  }
  return { feeds, values };
}

test('per-row sampling temperatures: log-probs of softmax(logits / T) in one batch, and gradients that match finite differences', async () => {
  const f = await tinyFixture(12);
  after(f.cleanup);
  const small: LoraConfig = { rank: 2, alpha: 4, dropout: 0, targets: ['q', 'v', 'down'] };
  const policy = await Policy.create(f.config, await f.weights(), { lora: small, dtype: 'float64' });
  after(() => policy.release());
  const rand = seededRandom(5);
  const adapter = initLoraAdapter(f.config, small, 3);
  for (const p of adapter.pairs) for (let i = 0; i < p.b.length; i++) p.b[i] = (rand() - 0.5) * 0.4;
  const { feeds, values } = perturbableFeeds(policy, adapter);
  const rows: ScoreRow[] = [
    { ids: [60, 61, 62, 63, 64, 65, 66], from: 4, temperature: 0.5 },
    { ids: [70, 71, 72, 73, 281], from: 2, temperature: 1.7 },
    { ids: [60, 61, 62, 63, 64, 65, 66], from: 4 },
  ];
  const current = await policy.logprobs(rows, feeds);
  // Independent forward: the whole next-token distribution at T = 1 (every token of the vocabulary
  // scored after the prefix), tempered by hand: log softmax(logits / T) = log p1 / T - logsumexp(log p1 / T).
  const vocab = f.config.vocabSize;
  for (const [b, row] of rows.entries()) {
    const t = row.temperature ?? 1;
    for (const j of [row.from, row.ids.length - 1]) {
      const prefix = row.ids.slice(0, j);
      const p1 = (await policy.logprobs(Array.from({ length: vocab }, (_, v) => ({ ids: [...prefix, v], from: j })), feeds)).map(([l]) => l / t);
      const max = Math.max(...p1);
      const want = p1[row.ids[j]] - (max + Math.log(p1.reduce((a, x) => a + Math.exp(x - max), 0)));
      assert.ok(Math.abs(current[b][j - row.from] - want) < 1e-9, `row ${b} token ${j}: ${current[b][j - row.from]} vs ${want}`);
    }
  }
  // The same tokens at T = 0.5 and at T = 1 score differently: the row's own temperature is used.
  assert.ok(Math.abs(current[0][0] - current[2][0]) > 1e-3, `${current[0][0]} vs ${current[2][0]}`);
  const coefs = current.map((l, i) => termCoefficients({
    role: i === 1 ? 'leader' : 'follower', score: i % 2, logprobs: l, reference: l.map((x) => x + 0.3 * (rand() - 0.5)), behaviour: null,
  }, { beta: 0.5, kl: 'k3', baseline: 0.5, followerWeight: 2, isClip: 2 }).coef);
  await checkAgainstFiniteDifferences(policy, rows, coefs, feeds, values, current, rand);
});
