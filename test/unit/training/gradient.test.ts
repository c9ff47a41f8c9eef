// The real training graph (the SLHF surrogate loss over buildLogProbGraph with LoRA inputs), in
// float64: its LoRA gradients match central finite differences of its own loss, and that loss is
// sum_t coef_t * l_t with l_t the probe's per-token log-probs (coefficients land on the right tokens).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Feed } from '../../../src/onnx';
import { loraInputName } from '../../../src/models/graphs';
import { initLoraAdapter, type LoraConfig } from '../../../src/models/lora';
import { seededRandom } from '../../../src/models/seeded-random';
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
  const feeds: Record<string, Feed> = {};
  const values = new Map<string, Float64Array>();
  for (const [name, feed] of Object.entries(policy.adapterFeeds(adapter))) {
    const data = Float64Array.from(feed.data as Float64Array);
    values.set(name, data);
    feeds[name] = { ...feed, data } as Feed;
  }
  // Rows of different lengths (left padding) and coefficients from the objective.
  const rows: ScoreRow[] = [{ ids: [60, 61, 62, 63, 64, 65, 66, 46, 281], from: 4 }, { ids: [70, 71, 72, 33, 281], from: 3 }];
  const current = await policy.logprobs(rows, feeds);
  const coefs = current.map((l, i) => termCoefficients({
    role: 'follower', score: i, logprobs: l, reference: l.map((x) => x + 0.3 * (rand() - 0.5)), behaviour: l.map((x) => x - 0.1),
  }, { beta: 0.5, kl: 'k3', baseline: 0.5, followerWeight: 2, isClip: 2 }).coef);

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
  // Both factors of every adapted projection were checked.
  assert.ok(values.has(loraInputName('model.layers.0.mlp.down_proj', 'B')) && values.size === 14, `checked ${values.size} tensors, worst ${worst}`);
});
