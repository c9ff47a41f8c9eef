// Weight-only quantization (MatMulNBits): the packed layout against a dequantizer written here from
// ONNX Runtime's operator spec, ONNX Runtime's own kernel against that dequantizer and against the
// float MatMul within the quantization error bound, and the next-token log-prob drift of a whole tiny
// decoder quantized to int8 and int4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Graph, matmul, type Tensor } from '../../../src/onnx';
import { quantizeGraph, quantizeMatrix, logProbDrift, type QuantBits, type QuantizeOptions, type QuantizedMatrix } from '../../../src/models/quantize';
import { makeTinyModel } from '../../../src/models/fixtures/tiny-model';
import { openCheckpoint } from '../../../src/models/checkpoint';
import { loadDecoderWeights } from '../../../src/models/export';
import { buildInferenceGraph, pastName } from '../../../src/models/graphs';
import type { DecoderConfig } from '../../../src/models/config';
import { seededRandom } from '../../../src/models/seeded-random';
import { i64, maxAbsDiff, sessionOf } from './fixtures';

/** w[k, n] as the spec defines it: (code - zero point) * scale, codes low bits first within each byte. */
function specDequantize(q: Pick<QuantizedMatrix, 'bits' | 'blockSize' | 'k' | 'n' | 'packed' | 'scales' | 'zeroPoints'>): Float64Array {
  const { bits, blockSize, k: K, n: N } = q;
  const blocks = Math.ceil(K / blockSize);
  const blob = (blockSize * bits) / 8;
  const zpRow = Math.ceil((blocks * bits) / 8);
  assert.equal(q.packed.length, N * blocks * blob);
  assert.equal(q.scales.length, N * blocks);
  assert.equal(q.zeroPoints.length, N * zpRow);
  const field = (byte: number, index: number): number => (bits === 8 ? byte : index % 2 === 0 ? byte & 0x0f : byte >> 4);
  const out = new Float64Array(K * N);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const block = Math.floor(k / blockSize);
      const within = k % blockSize;
      const code = field(q.packed[(n * blocks + block) * blob + Math.floor((within * bits) / 8)], within);
      const zp = field(q.zeroPoints[n * zpRow + Math.floor((block * bits) / 8)], block);
      out[k * N + n] = (code - zp) * q.scales[n * blocks + block];
    }
  }
  return out;
}

function randomMatrix(rows: number, cols: number, seed: number, spread = 1): Float32Array {
  const rand = seededRandom(seed);
  // An offset per column makes blocks asymmetric, so zero points other than the midpoint get used.
  const offsets = Array.from({ length: cols }, () => (rand() - 0.5) * spread);
  return Float32Array.from({ length: rows * cols }, (_, i) => offsets[i % cols] + (2 * rand() - 1) * spread);
}

test('4-bit codes pack low nibble first, zero points likewise (a hand-worked example from the spec)', () => {
  // One column, K = 16 (one block): w = 0..15 gives range [0, 15], scale 1, zero point 0, code k.
  const q = quantizeMatrix(Float32Array.from({ length: 16 }, (_, k) => k), 16, 1, 4, 16);
  assert.deepEqual([...q.packed], [0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe]);
  assert.deepEqual([...q.scales], [1]);
  assert.deepEqual([...q.zeroPoints], [0]);
  // Three blocks of [-8, 7], [-4, 11], [0, 15] along K: zero points 8, 4, 0 packed two to a byte.
  const w = Float32Array.from({ length: 48 }, (_, k) => (k % 16) - [8, 4, 0][Math.floor(k / 16)]);
  assert.deepEqual([...quantizeMatrix(w, 48, 1, 4, 16).zeroPoints], [0x48, 0x00]);
  // 8 bits: scale 15 / 255, so zero points 8, 4 and 0 steps of 1/17 above the block minimum.
  assert.deepEqual([...quantizeMatrix(w, 48, 1, 8, 16).zeroPoints], [136, 68, 0]);
});

for (const bits of [4, 8] as const) {
  for (const [K, N, blockSize] of [[96, 40, 32], [70, 33, 32], [200, 7, 64], [17, 5, 16]]) {
    test(`round trip ${bits}-bit [${K}, ${N}] block ${blockSize}: within half a step of every weight`, () => {
      const w = randomMatrix(K, N, K * N + bits);
      w[3 * N + 1] = 0; // an exact zero stays exactly zero
      const q = quantizeMatrix(w, K, N, bits, blockSize);
      const back = specDequantize(q);
      const blocks = Math.ceil(K / blockSize);
      let worstStep = 0;
      for (let k = 0; k < K; k++) {
        for (let n = 0; n < N; n++) {
          const step = q.scales[n * blocks + Math.floor(k / blockSize)];
          const err = Math.abs(back[k * N + n] - w[k * N + n]);
          assert.ok(err <= step / 2 + 1e-6 * step, `w[${k}, ${n}] = ${w[k * N + n]} came back as ${back[k * N + n]} (step ${step})`);
          worstStep = Math.max(worstStep, err / step);
        }
      }
      assert.equal(back[3 * N + 1], 0);
      assert.ok(worstStep > 0.3, 'rounding error never got near half a step: the check would not see a wrong layout');
    });
  }
}

test('bad parameters and shapes give clear errors', () => {
  const w = new Float32Array(32 * 4);
  assert.throws(() => quantizeMatrix(w, 32, 4, 3 as QuantBits), /bits must be 4 or 8, got 3/);
  assert.throws(() => quantizeMatrix(w, 32, 4, 4, 24), /power of two of at least 16, got 24/);
  assert.throws(() => quantizeMatrix(w, 32, 4, 4, 8), /power of two of at least 16, got 8/);
  assert.throws(() => quantizeMatrix(w, 30, 4, 4), /128 values are not a \[30, 4\] matrix/);
  assert.throws(() => quantizeGraph(new Graph(), { bits: 2 as QuantBits }), /bits must be 4 or 8/);
});

test('weights MatMulNBits cannot take stay float MatMuls, each with the reason', () => {
  const graph = new Graph('mixed');
  const x64 = graph.input('x64', 'float64', ['batch_size', 32]);
  const x1 = graph.input('x1', 'float32', [32]);
  const x = graph.input('x', 'float32', ['batch_size', 32]);
  const w = graph.initializer('w', 'float32', [32, 8], randomMatrix(32, 8, 1));
  graph.output(matmul(x64, graph.initializer('w64', 'float64', [32, 8], new Float64Array(256))), 'a');
  graph.output(matmul(x1, graph.initializer('wv', 'float32', [32, 8], new Float32Array(256))), 'b');
  graph.output(matmul(x, graph.initializer('w3', 'float32', [2, 32, 8], new Float32Array(512))), 'c');
  graph.output(matmul(x, w), 'd');
  graph.output(matmul(w, graph.initializer('right', 'float32', [8, 4], new Float32Array(32))), 'e');
  const report = quantizeGraph(graph, { bits: 8, shared: 'float' });
  // w is also the left operand of another MatMul, which needs the float values; that product's
  // constant right operand is quantized like any other.
  assert.deepEqual(report.quantized, ['right']);
  assert.deepEqual(report.kept, [
    { name: 'w64', reason: 'float64, not float32' },
    { name: 'wv', reason: 'multiplied by a rank-1 tensor (MatMulNBits wants [..., K])' },
    { name: 'w3', reason: 'rank 3, not a [K, N] matrix' },
    { name: 'w', reason: "also read by 1 other node(s) (shared: 'float')" },
  ]);
  assert.ok(graph.initializers.includes(w));
  assert.equal(graph.nodes.filter((n) => n.op.opType === 'MatMulNBits').length, 1);
  quantizeGraph(graph, { bits: 8, shared: 'copy' });
  assert.ok(graph.initializers.includes(w), 'a shared weight stays for its other readers');
  assert.equal(graph.nodes.filter((n) => n.op.opType === 'MatMulNBits').length, 2);
});

/** The quantized B, scales and zero points a MatMulNBits node reads, as a QuantizedMatrix-like view. */
function nodeWeights(graph: Graph, output: Tensor, bits: QuantBits, blockSize: number): Parameters<typeof specDequantize>[0] {
  const node = output.producer!;
  assert.equal(node.op.opType, 'MatMulNBits');
  assert.equal(node.op.domain, 'com.microsoft');
  const [, b, scales, zp] = node.inputs as Tensor[];
  for (const t of [b, scales, zp]) assert.ok(graph.initializers.includes(t));
  return { bits, blockSize, k: node.attrs.K, n: node.attrs.N, packed: b.const!.data as Uint8Array, scales: scales.const!.data as Float32Array, zeroPoints: zp.const!.data as Uint8Array };
}

for (const bits of [4, 8] as const) {
  for (const accuracyLevel of [0, 4] as const) {
    test(`MatMulNBits on ONNX Runtime CPU equals x @ dequantized W (${bits}-bit, accuracy_level ${accuracyLevel}, K = 70)`, async () => {
      const [B, S, K, N, blockSize] = [2, 3, 70, 48, 32];
      const w = randomMatrix(K, N, 5 + bits, 0.5);
      const x = randomMatrix(B * S, K, 9, 1);
      const graph = new Graph('q');
      const input = graph.input('x', 'float32', ['batch_size', 'sequence_length', K]);
      const y = graph.output(matmul(input, graph.initializer('w', 'float32', [K, N], w)), 'y');
      const report = quantizeGraph(graph, { bits, blockSize, accuracyLevel });
      assert.deepEqual(report.quantized, ['w']);
      assert.ok(!graph.initializers.some((t) => t.name === 'w'), 'the float weight is still in the graph');
      const stored = nodeWeights(graph, y, bits, blockSize);
      const deq = specDequantize(stored);
      const step = (k: number, n: number): number => stored.scales[n * Math.ceil(K / blockSize) + Math.floor(k / blockSize)];
      const session = await sessionOf(graph);
      try {
        const out = (await session.run({ x: { dtype: 'float32', data: x, dims: [B, S, K] } })).y.data as Float32Array;
        assert.deepEqual(out.length, B * S * N);
        for (let m = 0; m < B * S; m++) {
          for (let n = 0; n < N; n++) {
            let exact = 0; // x @ W, float weights
            let viaSpec = 0; // x @ dequant(W) as the spec reads the packed bytes
            let weightBound = 0; // sum |x| * step / 2: the most that rounding W can move the product
            let activationBound = 0; // with accuracy_level 4 the kernel rounds x to int8 per block too
            for (let k = 0; k < K; k++) {
              const xv = x[m * K + k];
              exact += xv * w[k * N + n];
              viaSpec += xv * deq[k * N + n];
              weightBound += (Math.abs(xv) * step(k, n)) / 2;
            }
            if (accuracyLevel === 4) {
              for (let k0 = 0; k0 < K; k0 += blockSize) {
                let amax = 0;
                let wsum = 0;
                for (let k = k0; k < Math.min(K, k0 + blockSize); k++) {
                  amax = Math.max(amax, Math.abs(x[m * K + k]));
                  wsum += Math.abs(deq[k * N + n]);
                }
                activationBound += (amax / 127 / 2) * wsum;
              }
            }
            const ours = out[m * N + n];
            const tolerance = 1e-4 + activationBound;
            assert.ok(Math.abs(ours - viaSpec) <= tolerance, `y[${m}, ${n}]: ${ours} vs ${viaSpec} through the spec's layout (allowed ${tolerance})`);
            assert.ok(Math.abs(ours - exact) <= weightBound + tolerance, `y[${m}, ${n}]: ${ours} vs float ${exact} (allowed ${weightBound + tolerance})`);
          }
        }
      } finally {
        await session.release();
      }
    });
  }
}

const TEXT = 'The quick brown fox jumps over the lazy dog, then rests in the shade of an old oak tree while the farmer ' +
  'counts his sheep and wonders whether the rain will come before the harvest is in.';

interface Fixture { config: DecoderConfig; ids: number[]; weights: () => Promise<Map<string, Float32Array>> }

async function withFixture(body: (f: Fixture) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'slhf-quantize-'));
  try {
    const model = await makeTinyModel({ arch: 'qwen2', tokenizer: 'bytes', out: join(dir, 'model'), seed: 7 });
    const { Tokenizer } = await import('@huggingface/tokenizers');
    const ids = new Tokenizer(JSON.parse(model.tokenizer.tokenizerJson), model.tokenizer.tokenizerConfig).encode(TEXT).ids;
    const weights = async () => {
      const checkpoint = await openCheckpoint(model.dir);
      try {
        return await loadDecoderWeights(checkpoint);
      } finally {
        await checkpoint.close();
      }
    };
    await body({ config: model.config, ids, weights });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Full-sequence logits [T, vocab] of the inference graph (empty cache). */
async function logitsOf(graph: Graph, config: DecoderConfig, ids: number[]): Promise<Float32Array> {
  const feeds: Record<string, any> = {
    input_ids: i64(ids, [1, ids.length]),
    attention_mask: i64(ids.map(() => 1), [1, ids.length]),
    position_ids: i64(ids.map((_, i) => i), [1, ids.length]),
  };
  // 0 = logits at every position, where the graph has this input.
  if (graph.inputs.some((t) => t.name === 'num_logits_to_keep')) feeds.num_logits_to_keep = { dtype: 'int64', data: [0], dims: [] };
  for (let l = 0; l < config.numLayers; l++) {
    for (const kind of ['key', 'value'] as const) {
      feeds[pastName(l, kind)] = { dtype: 'float32', data: new Float32Array(0), dims: [1, config.numKvHeads, 0, config.headDim] };
    }
  }
  const session = await sessionOf(graph);
  try {
    return (await session.run(feeds, ['logits'])).logits.data as Float32Array;
  } finally {
    await session.release();
  }
}

// Measured on this random-weight fixture with the defaults (block 32, accuracy_level 4): int8 mean 0.028 /
// max 0.12 / top-1 0.99, int4 0.31 / 0.96 / 0.76 (head in float; a quantized head adds ~5%). A swapped
// nibble order gave mean 1.9, max 7.5, top-1 0.03. The bounds sit about 2x above the measurements.
const BOUNDS: Record<QuantBits, { mean: number; max: number; top1: number }> = {
  8: { mean: 0.06, max: 0.3, top1: 0.95 },
  4: { mean: 0.6, max: 2.5, top1: 0.6 },
};

test('a tiny qwen2 decoder quantized: next-token log-prob drift stays small for int8 and int4', async () => {
  await withFixture(async ({ config, ids, weights }) => {
    assert.ok(ids.length > 100, `the text tokenized to only ${ids.length} ids`);
    const reference = await logitsOf(buildInferenceGraph(config, await weights()), config, ids);
    const cases: [QuantBits, QuantizeOptions['shared']][] = [[8, 'float'], [4, 'float'], [8, 'copy'], [4, 'copy']];
    for (const [bits, shared] of cases) {
      const graph = buildInferenceGraph(config, await weights());
      const report = quantizeGraph(graph, { bits, shared });
      // Every projection of every layer (7 per layer); the tied embedding only as a copy for the head.
      assert.equal(report.quantized.length, 7 * config.numLayers + (shared === 'copy' ? 1 : 0));
      const embedding = graph.initializers.find((t) => t.name === 'model.embed_tokens.weight.T');
      assert.ok(embedding, 'the tied embedding must stay float for the lookup');
      if (shared === 'float') assert.match(report.kept[0]?.reason ?? '', /other node/);
      assert.equal(graph.nodes.filter((n) => n.op.opType === 'MatMul' && n.inputs[1]?.kind === 'initializer').length, shared === 'float' ? 1 : 0);
      const drift = logProbDrift(reference, await logitsOf(graph, config, ids), ids, config.vocabSize);
      const bound = BOUNDS[bits];
      const what = `int${bits}, head ${shared === 'copy' ? 'quantized' : 'float'}: ${JSON.stringify(drift)}`;
      // A quantized model that equals the float one would mean nothing got quantized.
      assert.ok(drift.meanAbs > 0, what);
      assert.ok(drift.meanAbs < bound.mean && drift.maxAbs < bound.max && drift.top1Agreement >= bound.top1, what);
    }
  });
});

test('the quantized decoder equals the float decoder run on the weights the spec reads back (accuracy_level 0)', async () => {
  await withFixture(async ({ config, ids, weights }) => {
    for (const bits of [4, 8] as const) {
      const graph = buildInferenceGraph(config, await weights());
      // The tied head stays float here: the float graph below can only swap weights the lookup does not share.
      const report = quantizeGraph(graph, { bits, accuracyLevel: 0, shared: 'float' });
      // Float weights in the checkpoint's [out, in] layout, each projection replaced by its dequantized codes.
      const dequantized = await weights();
      for (const node of graph.nodes.filter((n) => n.op.opType === 'MatMulNBits')) {
        const stored = nodeWeights(graph, node.outputs[0], bits, 32);
        const name = node.inputs[1]!.name.replace(/\.T\.q\d$/, '');
        assert.ok(report.quantized.includes(`${name}.T`) && dequantized.has(name), name);
        const deq = specDequantize(stored);
        dequantized.set(name, Float32Array.from({ length: deq.length }, (_, i) => deq[(i % stored.k) * stored.n + Math.floor(i / stored.k)]));
      }
      const expected = await logitsOf(buildInferenceGraph(config, dequantized), config, ids);
      const ours = await logitsOf(graph, config, ids);
      const diff = maxAbsDiff(ours, expected);
      assert.ok(diff < 1e-4, `int${bits}: logits differ by up to ${diff} from the float graph on dequantized weights`);
    }
  });
});

test('include picks which weights are quantized; the rest stay float MatMuls', async () => {
  await withFixture(async ({ config, weights }) => {
    const graph = buildInferenceGraph(config, await weights());
    const report = quantizeGraph(graph, { bits: 4, include: (name) => name.includes('.mlp.') });
    assert.equal(report.quantized.length, 3 * config.numLayers);
    assert.ok(report.quantized.every((name) => name.includes('.mlp.')));
    assert.ok(graph.initializers.some((t) => t.name === 'model.layers.0.self_attn.q_proj.weight.T'));
    assert.ok(!graph.initializers.some((t) => t.name === 'model.layers.0.mlp.up_proj.weight.T'));
    assert.ok(report.quantizedBytes < report.floatBytes / 6, `${report.quantizedBytes} of ${report.floatBytes} bytes`);
  });
});
