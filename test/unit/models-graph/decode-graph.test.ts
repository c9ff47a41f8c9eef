// The contrib-op decoding graph against the plain-op graph (itself checked against the reference):
// logits and KV cache over a left-padded batch of 2, prefill then token-by-token decoding, for every
// fixture variant (GQA with fewer kv heads, one kv head, q/k/v and o biases, tied embeddings, rope
// scaling, head_dim != hidden / heads, Mistral's sliding window). And num_logits_to_keep.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildContribInferenceGraph } from '../../../src/models/decode-graph';
import { buildInferenceGraph, NUM_LOGITS_TO_KEEP, pastName, presentName } from '../../../src/models/graphs';
import type { DecoderConfig } from '../../../src/models/config';
import type { Session } from '../../../src/onnx';
import { i64, maxAbsDiff, sessionOf, tinyModel, variantNames } from './fixtures';
import { emptyPast, PADDED_PLAN, runSteps, type Step, type StepPlan } from './kv-steps';

/** Rows of a [batch, n, width] output's step at the positions that are not padding. */
function realRows(step: Step, name: string, plan: StepPlan, b: number, at: (t: number) => number): Float32Array[] {
  const t = step.out[name];
  const width = t.dims[t.dims.length - 1];
  const data = t.data as Float32Array;
  const rows: Float32Array[] = [];
  for (let i = Math.max(step.start, plan.pad[b]); i < step.end; i++) {
    const row = at(i);
    rows.push(data.subarray(row * width, (row + 1) * width));
  }
  return rows;
}

/** Present key/value of one batch row at its real cache positions, per head: [kv_heads * real, head_dim] rows. */
function realCache(step: Step, name: string, config: DecoderConfig, pad: number, b: number): Float32Array[] {
  const t = step.out[name];
  const [, heads, total, hd] = t.dims;
  const data = t.data as Float32Array;
  const rows: Float32Array[] = [];
  for (let h = 0; h < heads; h++) {
    for (let p = pad; p < total; p++) rows.push(data.subarray(((b * heads + h) * total + p) * hd, ((b * heads + h) * total + p + 1) * hd));
  }
  assert.equal(heads, config.numKvHeads);
  return rows;
}

function assertClose(a: Float32Array[], b: Float32Array[], tol: number, what: string): number {
  assert.equal(a.length, b.length, `${what}: row count`);
  let worst = 0;
  a.forEach((row, i) => (worst = Math.max(worst, maxAbsDiff(row, b[i]))));
  assert.ok(worst < tol, `${what}: max abs diff ${worst}`);
  return worst;
}

function allFinite(step: Step): boolean {
  return Object.values(step.out).every((t) => (t.data as Float32Array).every(Number.isFinite));
}

async function bothVariants(name: string, overrides: Record<string, unknown> = {}): Promise<{ m: ReturnType<typeof tinyModel>; plain: Session; contrib: Session }> {
  const m = tinyModel(name, 11, overrides);
  const plain = await sessionOf(buildInferenceGraph(m.config, m.weights));
  const contrib = await sessionOf(buildContribInferenceGraph(m.config, tinyModel(name, 11, overrides).weights));
  return { m, plain, contrib };
}

// GroupQueryAttention takes head_dim multiples of 8 only: the all-bias variant runs with head_dim 8.
const CONTRIB_OVERRIDES: Record<string, Record<string, unknown>> = { llama_linear_rope_all_bias: { head_dim: 8 } };

for (const name of variantNames) {
  test(`contrib decoding graph equals the plain graph, logits and KV cache, left-padded batch: ${name}`, async () => {
    const { m, plain, contrib } = await bothVariants(name, CONTRIB_OVERRIDES[name]);
    try {
      const expected = await runSteps(plain, m.config, PADDED_PLAN);
      const actual = await runSteps(contrib, m.config, PADDED_PLAN);
      assert.equal(actual.length, expected.length);
      expected.forEach((e, s) => {
        const a = actual[s];
        // Padded positions hold different (unused, finite) values in the two graphs; real ones must agree.
        assert.ok(allFinite(a), `step ${s}: contrib outputs are finite`);
        for (let b = 0; b < 2; b++) {
          const at = (t: number) => b * (e.end - e.start) + t - e.start;
          assertClose(realRows(a, 'logits', PADDED_PLAN, b, at), realRows(e, 'logits', PADDED_PLAN, b, at), 1e-4, `step ${s} row ${b} logits`);
          for (let l = 0; l < m.config.numLayers; l++) {
            for (const kind of ['key', 'value'] as const) {
              const key = presentName(l, kind);
              assert.deepEqual(a.out[key].dims, e.out[key].dims);
              assertClose(realCache(a, key, m.config, PADDED_PLAN.pad[b], b), realCache(e, key, m.config, PADDED_PLAN.pad[b], b), 1e-4, `step ${s} row ${b} ${key}`);
            }
          }
        }
      });
    } finally {
      await plain.release();
      await contrib.release();
    }
  });
}

test('num_logits_to_keep = 1 returns the last position of the full logits, in both graphs', async () => {
  const { m, plain, contrib } = await bothVariants('qwen2_bias_tied');
  try {
    for (const session of [plain, contrib]) {
      const full = await runSteps(session, m.config, PADDED_PLAN);
      const last = await runSteps(session, m.config, { ...PADDED_PLAN, keep: 1 });
      const V = m.config.vocabSize;
      full.forEach((f, s) => {
        const width = f.end - f.start;
        assert.deepEqual(last[s].out.logits.dims, [2, 1, V]);
        for (let b = 0; b < 2; b++) {
          const expected = (f.out.logits.data as Float32Array).subarray((b * width + width - 1) * V, (b * width + width) * V);
          const got = (last[s].out.logits.data as Float32Array).subarray(b * V, (b + 1) * V);
          assert.ok(maxAbsDiff(got, expected) < 1e-5, `step ${s} row ${b}`);
        }
      });
    }
  } finally {
    await plain.release();
    await contrib.release();
  }
});

test('the contrib graph refuses positions past max_position_embeddings (its rotary tables end there)', async () => {
  const m = tinyModel('llama_gqa');
  assert.equal(m.config.maxPositionEmbeddings, 128);
  const session = await sessionOf(buildContribInferenceGraph(m.config, m.weights));
  try {
    const feeds = (last: number) => ({
      input_ids: i64([1, 2], [1, 2]), attention_mask: i64([1, 1], [1, 2]), position_ids: i64([last - 1, last], [1, 2]),
      [NUM_LOGITS_TO_KEEP]: i64([1], []), ...emptyPast(m.config, 1),
    });
    assert.deepEqual((await session.run(feeds(127))).logits.dims, [1, 1, m.config.vocabSize]);
    await assert.rejects(session.run(feeds(128)), /position_ids value 128 at index 1 is out of range \[0, 128\)/);
  } finally {
    await session.release();
  }
});

test('the contrib graph refuses float64 and head sizes GroupQueryAttention lacks, with clear messages', () => {
  const m = tinyModel('llama_gqa');
  assert.throws(() => buildContribInferenceGraph(m.config, m.weights, { dtype: 'float64' }), /float32 or float16, not float64/);
  const odd = tinyModel('llama_linear_rope_all_bias');
  assert.equal(odd.config.headDim, 10);
  assert.throws(() => buildContribInferenceGraph(odd.config, odd.weights), /head_dim to be a multiple of 8, this model has 10; use the plain graph/);
});

test('a multi-token step on a filled cache (a speculative verification pass) gives the plain graph\'s logits and cache, int8 quantized too', async () => {
  const { quantizeGraph } = await import('../../../src/models/quantize');
  const name = 'qwen2_bias_tied';
  const seq = [1, 5, 9, 47, 3, 3, 20, 11];
  const m = tinyModel(name, 11);
  const plain = await sessionOf(buildInferenceGraph(m.config, m.weights));
  const contribGraph = buildContribInferenceGraph(m.config, tinyModel(name, 11).weights);
  const contrib = await sessionOf(contribGraph);
  const quantized = buildContribInferenceGraph(m.config, tinyModel(name, 11).weights);
  quantizeGraph(quantized, { bits: 8 });
  const int8 = await sessionOf(quantized);
  // Prefill 4 tokens, then verify 4 at once: one row, as the refiner's speculation runs it.
  const plan: StepPlan = { seqs: [seq], pad: [0], prefill: 4 };
  const twoSteps = async (session: Session) => {
    const first = await runSteps(session, m.config, { ...plan, seqs: [seq.slice(0, 4)] });
    const past: Record<string, any> = {};
    for (let l = 0; l < m.config.numLayers; l++) for (const kind of ['key', 'value'] as const) past[pastName(l, kind)] = first[0].out[presentName(l, kind)];
    return session.run({
      input_ids: i64(seq.slice(4), [1, 4]), attention_mask: i64(seq.map(() => 1), [1, 8]), position_ids: i64([4, 5, 6, 7], [1, 4]),
      [NUM_LOGITS_TO_KEEP]: i64([0], []), ...past,
    });
  };
  try {
    const expected = await twoSteps(plain);
    const got = await twoSteps(contrib);
    assert.ok(maxAbsDiff(got.logits.data as Float32Array, expected.logits.data as Float32Array) < 1e-4);
    for (let l = 0; l < m.config.numLayers; l++) {
      assert.ok(maxAbsDiff(got[presentName(l, 'key')].data as Float32Array, expected[presentName(l, 'key')].data as Float32Array) < 1e-4);
    }
    // int8 moves logits by its drift only: the same argmax at every verified position.
    const q = (await twoSteps(int8)).logits.data as Float32Array;
    const e = expected.logits.data as Float32Array;
    const V = m.config.vocabSize;
    for (let t = 0; t < 4; t++) {
      const row = (a: Float32Array) => Array.from(a.subarray(t * V, (t + 1) * V));
      const argmax = (r: number[]) => r.indexOf(Math.max(...r));
      assert.equal(argmax(row(q)), argmax(row(e)), `position ${t}`);
    }
  } finally {
    await plain.release();
    await contrib.release();
    await int8.release();
  }
});

test('the contrib graph refuses a multi-token step on a cache for more than one row (ORT\'s GroupQueryAttention): speculation verifies one row at a time', async () => {
  const m = tinyModel('qwen2_bias_tied');
  const session = await sessionOf(buildContribInferenceGraph(m.config, m.weights));
  try {
    const rows = (ids: number[]) => i64([...ids, ...ids], [2, ids.length]);
    const first = await session.run({
      input_ids: rows([1, 5, 9, 47]), attention_mask: rows([1, 1, 1, 1]), position_ids: rows([0, 1, 2, 3]), [NUM_LOGITS_TO_KEEP]: i64([1], []), ...emptyPast(m.config, 2),
    });
    const past: Record<string, any> = {};
    for (let l = 0; l < m.config.numLayers; l++) for (const kind of ['key', 'value'] as const) past[pastName(l, kind)] = first[presentName(l, kind)];
    const step = (ids: number[], from: number) => session.run({
      input_ids: rows(ids), attention_mask: rows(new Array(from + ids.length).fill(1)), position_ids: rows(ids.map((_, i) => from + i)), [NUM_LOGITS_TO_KEEP]: i64([1], []), ...past,
    });
    assert.deepEqual((await step([3], 4)).logits.dims, [2, 1, m.config.vocabSize]);
    await assert.rejects(step([3, 3, 20], 4), /batch_size must be 1 when sequence_length > 1 and past context is given/);
  } finally {
    await session.release();
  }
});
