// LoRA in the training graph: adapters as inputs agree with the reference's unmerged LoRA math, a
// merged adapter scores the same as the unmerged one, B starts at zero, dropout masks act on the
// adapter's input only, and gradients w.r.t. A and B pass a central finite-difference check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildLogProbGraph, dropoutFeeds, dropoutInputName, loraFeeds, type WeightMap } from '../../../src/models/graphs';
import {
  dropoutMask, initLoraAdapter, loraScale, mergeLoraPair, parseLoraTarget, validateLoraConfig, LoraConfigError, type LoraAdapter, type LoraConfig,
} from '../../../src/models/lora';
import { scoreRows, logProbBatch, type ScoreRow } from '../../../src/models/score';
import { seededRandom } from '../../../src/base/seeded-random';
import { Graph, grad, mul, reduceSum, serialize, createSession, type Feed } from '../../../src/onnx';
import { dropoutMaskLike } from '../../../src/models/dropout';
import { refTokenLogProbs } from '../../reference/decoder-ref';
import { busyAdapter, maxAbsDiff, refLora, sessionOf, tinyModel } from './fixtures';

const rows: ScoreRow[] = [
  { ids: [1, 5, 9, 47, 3, 3, 20, 11], from: 2 },
  { ids: [6, 2, 30, 7], from: 1 },
];
const lora: LoraConfig = { rank: 4, alpha: 8, dropout: 0.25, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] };

test('LoRA config: targets accept short and _proj names, bad values are refused with the reason', () => {
  assert.equal(parseLoraTarget('q_proj'), 'q');
  assert.equal(parseLoraTarget('gate'), 'gate');
  assert.throws(() => parseLoraTarget('lm_head'), /Unknown LoRA target module "lm_head"/);
  assert.throws(() => validateLoraConfig({ ...lora, rank: 0 }), LoraConfigError);
  assert.throws(() => validateLoraConfig({ ...lora, dropout: 1 }), /dropout must be in \[0, 1\)/);
  assert.throws(() => validateLoraConfig({ ...lora, targets: ['q', 'q_proj' as never] }), /repeat/);
  assert.throws(() => validateLoraConfig({ ...lora, targets: [] }), /at least one/);
});

test('a fresh adapter has B = 0 and A ~ U(-1/sqrt(in), 1/sqrt(in)), only on the chosen targets', () => {
  const m = tinyModel('qwen2_bias_tied');
  const adapter = initLoraAdapter(m.config, { ...lora, targets: ['q', 'down'] }, 5);
  assert.equal(adapter.pairs.length, 2 * m.config.numLayers);
  assert.deepEqual(adapter.pairs.slice(0, 2).map((p) => p.module), ['model.layers.0.self_attn.q_proj', 'model.layers.0.mlp.down_proj']);
  for (const p of adapter.pairs) {
    assert.ok(p.b.every((x) => x === 0));
    const bound = 1 / Math.sqrt(p.inFeatures);
    assert.ok(p.a.every((x) => Math.abs(x) <= bound) && p.a.some((x) => Math.abs(x) > bound / 2));
  }
});

for (const name of ['llama_gqa', 'qwen2_bias_tied', 'llama3_scaled_mha']) {
  test(`training graph with adapters as inputs matches the reference LoRA math, and merging changes nothing: ${name}`, async () => {
    const m = tinyModel(name);
    const adapter = busyAdapter(m.config, { ...lora, dropout: 0 }, 21);
    const train = await sessionOf(buildLogProbGraph(m.config, m.weights, { lora: adapter.config }).graph);
    const merged: WeightMap = new Map([...m.weights].map(([k, v]) => [k, Float32Array.from(v)]));
    for (const pair of adapter.pairs) mergeLoraPair(merged.get(`${pair.module}.weight`)!, pair, loraScale(adapter.config));
    const score = await sessionOf(buildLogProbGraph(m.config, merged).graph);
    const base = await sessionOf(buildLogProbGraph(m.config, m.weights).graph);
    try {
      const withAdapter = await scoreRows(train, rows, loraFeeds(adapter));
      const withMerged = await scoreRows(score, rows, {});
      const without = await scoreRows(base, rows, {});
      rows.forEach((row, b) => {
        const expected = refTokenLogProbs(m.raw, m.ref, row.ids, row.from, { lora: refLora(adapter) });
        assert.ok(maxAbsDiff(withAdapter[b], expected) < 1e-4, `unmerged row ${b}: ${maxAbsDiff(withAdapter[b], expected)}`);
        assert.ok(maxAbsDiff(withMerged[b], expected) < 1e-4, `merged row ${b}: ${maxAbsDiff(withMerged[b], expected)}`);
        // The adapter must actually matter, or the comparisons above prove nothing.
        assert.ok(maxAbsDiff(without[b], expected) > 1e-2);
      });
    } finally {
      await Promise.all([train.release(), score.release(), base.release()]);
    }
  });
}

/** Every adapter's dropout mask filled with one value. */
function constantMasks(adapter: LoraAdapter, batch: number, width: number, value: number): Record<string, Feed> {
  const feeds: Record<string, Feed> = {};
  for (const p of adapter.pairs) {
    feeds[dropoutInputName(p.module)] = { dtype: 'float32', data: new Float32Array(batch * width * p.inFeatures).fill(value), dims: [batch, width, p.inFeatures] };
  }
  return feeds;
}

test('B = 0 and all-zero dropout masks both leave the base model; masks of ones leave the adapter', async () => {
  const m = tinyModel('mistral_gqa');
  const fresh = initLoraAdapter(m.config, lora, 3);
  const busy = busyAdapter(m.config, lora, 4);
  const train = await sessionOf(buildLogProbGraph(m.config, m.weights, { lora, dropout: 'inputs' }).graph);
  const plain = await sessionOf(buildLogProbGraph(m.config, m.weights, { lora: { ...lora, dropout: 0 } }).graph);
  const base = await sessionOf(buildLogProbGraph(m.config, m.weights).graph);
  try {
    const { batch, width } = logProbBatch(rows);
    const baseScores = (await scoreRows(base, rows)).flat();
    const freshScores = await scoreRows(train, rows, { ...loraFeeds(fresh), ...dropoutFeeds(fresh, batch, width, seededRandom(1)) });
    assert.ok(maxAbsDiff(freshScores.flat(), baseScores) < 1e-5);
    const dropped = await scoreRows(train, rows, { ...loraFeeds(busy), ...constantMasks(busy, batch, width, 0) });
    assert.ok(maxAbsDiff(dropped.flat(), baseScores) < 1e-5);
    const kept = await scoreRows(train, rows, { ...loraFeeds(busy), ...constantMasks(busy, batch, width, 1) });
    const undropped = await scoreRows(plain, rows, loraFeeds(busy));
    assert.ok(maxAbsDiff(kept.flat(), undropped.flat()) < 1e-5);
    assert.ok(maxAbsDiff(undropped.flat(), baseScores) > 1e-2);
  } finally {
    await Promise.all([train.release(), plain.release(), base.release()]);
  }
});

test('dropout masks are inverted dropout: zero with probability p, else 1/(1-p)', () => {
  const mask = dropoutMask(200_000, 0.25, seededRandom(5));
  const zeros = mask.filter((x) => x === 0).length / mask.length;
  assert.ok(Math.abs(zeros - 0.25) < 0.01, `zero fraction ${zeros}`);
  assert.ok(mask.every((x) => x === 0 || Math.abs(x - 1 / 0.75) < 1e-7));
});

test('in-graph dropout masks: 0 or 1/(1-p) at rate p, fresh on every run, independent per seed', async () => {
  const graph = new Graph('masks');
  const x = graph.input('x', 'float32', ['n', 64]);
  graph.output(dropoutMaskLike(x, 0.25, 1), 'm1');
  graph.output(dropoutMaskLike(x, 0.25, 2), 'm2');
  const session = await createSession(serialize(graph), { device: 'cpu' });
  try {
    const feed = { x: { dtype: 'float32' as const, data: new Float32Array(500 * 64), dims: [500, 64] } };
    const first = await session.run(feed);
    const second = await session.run(feed);
    const m1 = first.m1.data as Float32Array;
    const zeros = m1.filter((v) => v === 0).length / m1.length;
    assert.ok(Math.abs(zeros - 0.25) < 0.01, `zero fraction ${zeros}`);
    assert.ok(m1.every((v) => v === 0 || Math.abs(v - 1 / 0.75) < 1e-6));
    assert.ok(maxAbsDiff(m1, second.m1.data as Float32Array) > 0, 'a new run draws a new mask');
    assert.ok(maxAbsDiff(m1, first.m2.data as Float32Array) > 0, 'another seed draws another mask');
  } finally {
    await session.release();
  }
});

test('training graph with in-graph dropout: gradients build, runs differ, and p only affects the adapter path', async () => {
  const m = tinyModel('llama_gqa');
  const busy = busyAdapter(m.config, lora, 4);
  const built = buildLogProbGraph(m.config, m.weights, { lora, dropout: { seed: 42 } });
  const loss = reduceSum(built.tokenLogProbs, undefined, false);
  grad(loss, built.lora.flatMap((p) => [p.a, p.b])).forEach((g, i) => built.graph.output(g, `grad_${i}`));
  const train = await sessionOf(built.graph);
  const fresh = initLoraAdapter(m.config, lora, 1);
  const base = await sessionOf(buildLogProbGraph(m.config, m.weights).graph);
  try {
    const one = await scoreRows(train, rows, loraFeeds(busy));
    const two = await scoreRows(train, rows, loraFeeds(busy));
    assert.ok(maxAbsDiff(one.flat(), two.flat()) > 1e-4, 'each run draws new masks');
    // With B = 0 the masked adapter contributes nothing, whatever the masks.
    const baseScores = await scoreRows(base, rows);
    assert.ok(maxAbsDiff((await scoreRows(train, rows, loraFeeds(fresh))).flat(), baseScores.flat()) < 1e-5);
  } finally {
    await Promise.all([train.release(), base.release()]);
  }
});

test('LoRA gradients of the training graph pass a central finite-difference check (float64)', async () => {
  const m = tinyModel('qwen2_bias_tied');
  const adapter = busyAdapter(m.config, { ...lora, rank: 2 }, 9);
  const built = buildLogProbGraph(m.config, m.weights, { lora: adapter.config, dropout: 'inputs', dtype: 'float64' });
  const { graph, tokenLogProbs } = built;
  // A loss shaped like the trainer's: per-token log-probs weighted by fixed coefficients, summed.
  const coef = graph.input('coef', 'float64', ['batch_size', 'sequence_length']);
  const loss = reduceSum(mul(tokenLogProbs, coef), undefined, false);
  graph.output(loss, 'loss');
  const params = built.lora.flatMap((p) => [p.a, p.b]);
  grad(loss, params).forEach((g, i) => graph.output(g, `grad_${i}`));
  const session = await createSession(serialize(graph), { device: 'cpu' });
  try {
    const batch = logProbBatch(rows);
    const rand = seededRandom(77);
    const coefData = new Float64Array(batch.batch * batch.width).map((_, i) => (batch.feeds.attention_mask.data as BigInt64Array)[i] ? 2 * rand() - 1 : 0);
    const fixed = { ...batch.feeds, coef: { dtype: 'float64' as const, data: coefData, dims: [batch.batch, batch.width] }, ...dropoutFeeds(adapter, batch.batch, batch.width, seededRandom(8), 'float64') };
    const run = async () => session.run({ ...fixed, ...loraFeeds(adapter, 'float64') });
    const out = await run();
    const probe = seededRandom(123);
    let checked = 0;
    for (const [i, pair] of adapter.pairs.entries()) {
      if (i % 3 !== 0) continue; // a spread of modules and layers keeps the run short
      for (const [which, values] of [['a', pair.a], ['b', pair.b]] as const) {
        const analytic = out[`grad_${2 * i + (which === 'a' ? 0 : 1)}`].data as Float64Array;
        const k = Math.floor(probe() * values.length);
        const h = 1e-3;
        const keep = values[k];
        values[k] = keep + h;
        const up = (await run()).loss.data[0] as number;
        values[k] = keep - h;
        const down = (await run()).loss.data[0] as number;
        values[k] = keep;
        const numeric = (up - down) / (2 * h);
        const err = Math.abs(numeric - analytic[k]) / Math.max(1e-6, Math.abs(numeric) + Math.abs(analytic[k]));
        assert.ok(err < 1e-5, `${pair.module} ${which}[${k}]: analytic ${analytic[k]} vs numeric ${numeric} (rel ${err})`);
        checked++;
      }
    }
    assert.ok(checked >= 8);
  } finally {
    await session.release();
  }
});
