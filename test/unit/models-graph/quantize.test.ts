// Weight-only quantization (MatMulNBits, GatherBlockQuantized), symmetric (q8_0/q4_0 style, no zero
// points) and asymmetric: the packed layout against a dequantizer written here from ONNX Runtime's
// operator spec, ONNX Runtime's own kernels against that dequantizer and against the float weights
// within the quantization error bound, whole quantized decoders (plain and contrib graphs, the lookup
// reading the quantized table) against the float64 reference run on the weights the spec reads back,
// and the next-token log-prob drift of a tiny decoder quantized to int8 and int4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Graph, createSession, gather, matmul, saveModel, transpose, type Tensor } from '../../../src/onnx';
import { dequantizeMatrix, quantizeGraph, quantizeMatrix, logProbDrift, type QuantBits, type QuantFormat, type QuantizeOptions, type QuantizedMatrix } from '../../../src/models/quantize';
import { buildContribInferenceGraph } from '../../../src/models/decode-graph';
import { refLogits, type RefWeights } from '../../reference/decoder-ref';
import { makeTinyModel } from '../../../src/models/tiny-models/tiny-model';
import { openCheckpoint } from '../../../src/models/checkpoint';
import { loadDecoderWeights } from '../../../src/models/export';
import { buildInferenceGraph, pastName } from '../../../src/models/graphs';
import type { DecoderConfig } from '../../../src/models/config';
import { seededRandom } from '../../../src/base/seeded-random';
import { i64, maxAbsDiff, sessionOf, tinyModel } from './fixtures';

/**
 * w[k, n] as the spec defines it: (code - zero point) * scale, codes low bits first within each byte;
 * without zero points the zero point is 2^(bits - 1).
 */
function specDequantize(q: Pick<QuantizedMatrix, 'bits' | 'blockSize' | 'k' | 'n' | 'packed' | 'scales' | 'zeroPoints'>): Float64Array {
  const { bits, blockSize, k: K, n: N } = q;
  const blocks = Math.ceil(K / blockSize);
  const blob = (blockSize * bits) / 8;
  const zpRow = Math.ceil((blocks * bits) / 8);
  assert.equal(q.packed.length, N * blocks * blob);
  assert.equal(q.scales.length, N * blocks);
  if (q.zeroPoints) assert.equal(q.zeroPoints.length, N * zpRow);
  const field = (byte: number, index: number): number => (bits === 8 ? byte : index % 2 === 0 ? byte & 0x0f : byte >> 4);
  const out = new Float64Array(K * N);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const block = Math.floor(k / blockSize);
      const within = k % blockSize;
      const code = field(q.packed[(n * blocks + block) * blob + Math.floor((within * bits) / 8)], within);
      const zp = q.zeroPoints ? field(q.zeroPoints[n * zpRow + Math.floor((block * bits) / 8)], block) : 2 ** (bits - 1);
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

/**
 * Every dequantized weight within half a step of the float one (q4_0's clipped far extreme: one step);
 * returns the worst error in steps among the unclipped weights.
 */
function assertWithinStep(w: ArrayLike<number>, back: ArrayLike<number>, q: QuantizedMatrix): number {
  const { k: K, n: N, blockSize } = q;
  const blocks = Math.ceil(K / blockSize);
  let worstStep = 0;
  for (let k = 0; k < K; k++) {
    for (let n = 0; n < N; n++) {
      const step = Math.abs(q.scales[n * blocks + Math.floor(k / blockSize)]);
      const err = Math.abs(back[k * N + n] - w[k * N + n]);
      // q4_0 has 8 codes below its zero point and 7 above: the far side's extreme may clip by up to one step.
      const clipped = q.symmetric && q.bits === 4 && Math.abs(w[k * N + n]) > 7.5 * step;
      assert.ok(err <= (clipped ? step : step / 2) + 1e-6 * step, `w[${k}, ${n}] = ${w[k * N + n]} came back as ${back[k * N + n]} (step ${step})`);
      if (!clipped) worstStep = Math.max(worstStep, err / step);
    }
  }
  return worstStep;
}

const ASYM = { symmetric: false } as const;

test('4-bit codes pack low nibble first, zero points likewise (a hand-worked example from the spec)', () => {
  // One column, K = 16 (one block): w = 0..15 gives range [0, 15], scale 1, zero point 0, code k.
  const q = quantizeMatrix(Float32Array.from({ length: 16 }, (_, k) => k), 16, 1, { bits: 4, blockSize: 16, ...ASYM });
  assert.deepEqual([...q.packed], [0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe]);
  assert.deepEqual([...q.scales], [1]);
  assert.deepEqual([...q.zeroPoints!], [0]);
  // Three blocks of [-8, 7], [-4, 11], [0, 15] along K: zero points 8, 4, 0 packed two to a byte.
  const w = Float32Array.from({ length: 48 }, (_, k) => (k % 16) - [8, 4, 0][Math.floor(k / 16)]);
  assert.deepEqual([...quantizeMatrix(w, 48, 1, { bits: 4, blockSize: 16, ...ASYM }).zeroPoints!], [0x48, 0x00]);
  // 8 bits: scale 15 / 255, so zero points 8, 4 and 0 steps of 1/17 above the block minimum.
  assert.deepEqual([...quantizeMatrix(w, 48, 1, { bits: 8, blockSize: 16, ...ASYM }).zeroPoints!], [136, 68, 0]);
});

test('symmetric codes as q4_0 / q8_0: no zero points, the largest weight sets the (signed) scale', () => {
  // w = -8..7: the largest magnitude is -8, scale -(-8) / 8 = 1, code = w + 8 = k, as the asymmetric example.
  const q = quantizeMatrix(Float32Array.from({ length: 16 }, (_, k) => k - 8), 16, 1, { bits: 4, blockSize: 16 });
  assert.equal(q.zeroPoints, undefined);
  assert.deepEqual([...q.packed], [0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe]);
  assert.deepEqual([...q.scales], [1]);
  // w = 0..15: the largest is +15, so the scale is negative (-15/8) and 15 lands exactly on code 0; 0 on code 8.
  const up = quantizeMatrix(Float32Array.from({ length: 16 }, (_, k) => k), 16, 1, { bits: 4, blockSize: 16 });
  assert.deepEqual([...up.scales], [Math.fround(-15 / 8)]);
  assert.equal(up.packed[0] & 0x0f, 8);
  assert.equal(up.packed[7] >> 4, 0);
  // 8 bits: scale max|w| / 127, code round(w / scale) + 128.
  const w8 = Float32Array.from({ length: 16 }, (_, k) => (k - 3) / 4);
  const q8 = quantizeMatrix(w8, 16, 1, { bits: 8, blockSize: 16 });
  assert.deepEqual([...q8.scales], [Math.fround(3 / 127)]);
  assert.deepEqual([...q8.packed], [...w8].map((v) => Math.round(v / Math.fround(3 / 127)) + 128));
});

for (const symmetric of [true, false]) {
  for (const bits of [4, 8] as const) {
    for (const [K, N, blockSize] of [[96, 40, 32], [70, 33, 32], [200, 7, 64], [17, 5, 16], [256, 6, 128]]) {
      const name = `${symmetric ? 'symmetric' : 'asymmetric'} ${bits}-bit [${K}, ${N}] block ${blockSize}`;
      test(`round trip ${name}: within half a step of every weight`, () => {
        const w = randomMatrix(K, N, K * N + bits);
        w[3 * N + 1] = 0; // an exact zero stays exactly zero
        const q = quantizeMatrix(w, K, N, { bits, blockSize, symmetric });
        const back = specDequantize(q);
        assert.deepEqual(dequantizeMatrix(q), Float32Array.from(back), 'dequantizeMatrix reads the codes as the spec does');
        // The same matrix stored [N, K] (an untied embedding) quantizes to the same codes.
        const wt = Float32Array.from({ length: K * N }, (_, i) => w[(i % K) * N + Math.floor(i / K)]);
        const qt = quantizeMatrix(wt, K, N, { bits, blockSize, symmetric }, 'nk');
        assert.deepEqual([qt.packed, qt.scales, qt.zeroPoints], [q.packed, q.scales, q.zeroPoints]);
        const worstStep = assertWithinStep(w, back, q);
        assert.ok(back[3 * N + 1] === 0, `the zero weight came back as ${back[3 * N + 1]}`);
        assert.ok(worstStep > 0.3, 'rounding error never got near half a step: the check would not see a wrong layout');
      });
    }
  }
}

test('bad parameters and shapes give clear errors', () => {
  const w = new Float32Array(32 * 4);
  assert.throws(() => quantizeMatrix(w, 32, 4, { bits: 3 as QuantBits }), /bits must be 4 or 8, got 3/);
  assert.throws(() => quantizeMatrix(w, 32, 4, { bits: 4, blockSize: 24 }), /power of two of at least 16, got 24/);
  assert.throws(() => quantizeMatrix(w, 32, 4, { bits: 4, blockSize: 8 }), /power of two of at least 16, got 8/);
  assert.throws(() => quantizeMatrix(w, 30, 4, { bits: 4 }), /128 values are not a \[30, 4\] matrix/);
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
  const [, b, scales, zp] = node.inputs as (Tensor | undefined)[];
  for (const t of [b, scales, zp]) if (t) assert.ok(graph.initializers.includes(t));
  return { bits, blockSize, k: node.attrs.K, n: node.attrs.N, packed: b!.const!.data as Uint8Array, scales: scales!.const!.data as Float32Array, zeroPoints: zp?.const!.data as Uint8Array | undefined };
}

for (const symmetric of [true, false]) for (const bits of [4, 8] as const) {
  for (const accuracyLevel of [0, 4] as const) {
    test(`MatMulNBits on ONNX Runtime CPU equals x @ dequantized W (${symmetric ? 'symmetric' : 'asymmetric'} ${bits}-bit, accuracy_level ${accuracyLevel}, K = 70)`, async () => {
      const [B, S, K, N, blockSize] = [2, 3, 70, 48, 32];
      const w = randomMatrix(K, N, 5 + bits, 0.5);
      const x = randomMatrix(B * S, K, 9, 1);
      const graph = new Graph('q');
      const input = graph.input('x', 'float32', ['batch_size', 'sequence_length', K]);
      const y = graph.output(matmul(input, graph.initializer('w', 'float32', [K, N], w)), 'y');
      const report = quantizeGraph(graph, { bits, blockSize, accuracyLevel, symmetric });
      assert.deepEqual(report.quantized, ['w']);
      assert.ok(!graph.initializers.some((t) => t.name === 'w'), 'the float weight is still in the graph');
      const stored = nodeWeights(graph, y, bits, blockSize);
      assert.equal(y.producer!.inputs.length, symmetric ? 3 : 4, 'zero points are an input only when asymmetric');
      const deq = specDequantize(stored);
      // A clipped q4_0 extreme is off by up to a whole step (see the round trip).
      const step = (k: number, n: number): number => (symmetric && bits === 4 ? 2 : 1) * Math.abs(stored.scales[n * Math.ceil(K / blockSize) + Math.floor(k / blockSize)]);
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

for (const [bits, symmetric] of [[4, true], [8, true], [8, false]] as const) {
  test(`GatherBlockQuantized on ONNX Runtime CPU returns the spec's dequantized rows (${symmetric ? 'symmetric' : 'asymmetric'} ${bits}-bit): tied [K, N] and untied [N, K] tables`, async () => {
    const [K, N, blockSize] = [64, 40, 16];
    const w = randomMatrix(K, N, 21 + bits, 0.5); // [K, N]: the head's layout; rows of the table are its columns
    const ids = [3, 0, 39, 3, 17, 22];
    for (const tied of [true, false]) {
      const graph = new Graph('lookup');
      const input = graph.input('ids', 'int64', ['batch_size', 'sequence_length']);
      let rows: Tensor;
      if (tied) {
        // The decoder's tied lookup: Transpose(Gather(W [K, N], ids, axis 1)), and the head's MatMul on the same W.
        const table = graph.initializer('w', 'float32', [K, N], w);
        rows = transpose(gather(table, input, 1), [1, 2, 0]);
        graph.output(matmul(rows, table), 'head');
      } else {
        const wt = Float32Array.from({ length: K * N }, (_, i) => w[(i % K) * N + Math.floor(i / K)]);
        rows = gather(graph.initializer('w', 'float32', [N, K], wt), input, 0);
      }
      graph.output(rows, 'rows');
      const report = quantizeGraph(graph, { bits, blockSize, symmetric, accuracyLevel: 0 });
      assert.deepEqual([report.quantized, report.lookups, report.kept], [['w'], ['w'], []]);
      assert.ok(!graph.initializers.some((t) => t.name === 'w'), 'no float copy of the table stays');
      const lookups = graph.nodes.filter((n) => n.op.opType === 'GatherBlockQuantized');
      assert.equal(lookups.length, 1);
      const deq = specDequantize(quantizeMatrix(w, K, N, { bits, blockSize, symmetric }));
      const session = await sessionOf(graph);
      try {
        const out = await session.run({ ids: i64(ids, [2, 3]) });
        assert.deepEqual(out.rows.dims, [2, 3, K]);
        const got = out.rows.data as Float32Array;
        ids.forEach((id, i) => {
          for (let k = 0; k < K; k++) assert.ok(Math.abs(got[i * K + k] - deq[k * N + id]) <= 1e-6 * Math.abs(deq[k * N + id]) + 1e-7, `row ${id}, k ${k}: ${got[i * K + k]} vs ${deq[k * N + id]}`);
        });
        if (tied) {
          // The head reads the same codes: rows @ dequant(W) within float rounding (accuracy_level 0).
          const head = out.head.data as Float32Array;
          let worst = 0;
          ids.forEach((_, i) => {
            for (let n = 0; n < N; n++) {
              let dot = 0;
              for (let k = 0; k < K; k++) dot += got[i * K + k] * deq[k * N + n];
              worst = Math.max(worst, Math.abs(head[i * N + n] - dot));
            }
          });
          assert.ok(worst < 1e-4, `head vs dequantized table: ${worst}`);
        }
      } finally {
        await session.release();
      }
    }
  });
}

test('a tied external table: the lookup reads its own initializers over the head\'s bytes, written once, and loads from the file', async () => {
  const [K, N, blockSize] = [64, 40, 16];
  const w = randomMatrix(K, N, 5, 0.5);
  const ids = [3, 0, 39, 17];
  const build = (external: boolean) => {
    const graph = new Graph('tied');
    const input = graph.input('ids', 'int64', ['batch_size', 'sequence_length']);
    const table = graph.initializer('w', 'float32', [K, N], w, { external });
    const rows = transpose(gather(table, input, 1), [1, 2, 0]);
    graph.output(matmul(rows, table), 'head');
    graph.output(rows, 'rows');
    quantizeGraph(graph, { bits: 8, blockSize, accuracyLevel: 0 });
    return graph;
  };
  const graph = build(true);
  const tables = (op: string) => graph.nodes.filter((n) => n.op.opType === op).map((n) => n.inputs[op === 'MatMulNBits' ? 1 : 0]!.name);
  // Before, both ops read one initializer: ONNX Runtime kept it whole for the lookup beside the head's prepacked copy.
  assert.deepEqual(tables('MatMulNBits'), ['w.q8']);
  assert.deepEqual(tables('GatherBlockQuantized'), ['w.q8.lookup']);
  const codes = (name: string) => graph.initializers.find((t) => t.name === name)!.const!.data;
  assert.equal(codes('w.q8.lookup'), codes('w.q8'), 'the same array, so serialize writes it once');
  const dir = mkdtempSync(join(tmpdir(), 'tied-'));
  try {
    const path = join(dir, 'model.onnx');
    const saved = await saveModel(graph, path, { externalDataFile: 'model.onnx_data' });
    // Codes N * K bytes and scales N * K / blockSize floats, once each (64-byte aligned).
    assert.equal(saved.external!.bytes, N * K + N * (K / blockSize) * 4);
    const session = await createSession(path, { device: 'cpu' });
    try {
      const out = await session.run({ ids: i64(ids, [1, 4]) });
      const deq = specDequantize(quantizeMatrix(w, K, N, { bits: 8, blockSize, symmetric: true }));
      const got = out.rows.data as Float32Array;
      ids.forEach((id, i) => {
        for (let k = 0; k < K; k++) assert.ok(Math.abs(got[i * K + k] - deq[k * N + id]) <= 1e-6, `row ${id}, k ${k}`);
      });
      assert.deepEqual(out.head.dims, [1, 4, N]);
    } finally {
      await session.release();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a large external weight is multiplied in parts over its table\'s bytes (written once): the same outputs as one MatMulNBits', async () => {
  // ONNX Runtime maps a weight's bytes while it prepacks them: one 136 MB head mapping beside its
  // prepacked copy set the 0.5B shape's peak RSS. Here 4 parts of 64, 64, 64 and 8 rows of 64 bytes.
  const [K, N, blockSize] = [64, 200, 16];
  const w = randomMatrix(K, N, 9, 0.5);
  const ids = [3, 0, 199, 70];
  const build = (partBytes?: number) => {
    const graph = new Graph('parts');
    const input = graph.input('ids', 'int64', ['batch_size', 'sequence_length']);
    const table = graph.initializer('w', 'float32', [K, N], w, { external: true });
    const rows = transpose(gather(table, input, 1), [1, 2, 0]);
    graph.output(matmul(rows, table), 'head');
    graph.output(rows, 'rows');
    quantizeGraph(graph, { bits: 8, blockSize, accuracyLevel: 4, partBytes });
    return graph;
  };
  const run = async (graph: Graph) => {
    const dir = mkdtempSync(join(tmpdir(), 'parts-'));
    try {
      const path = join(dir, 'model.onnx');
      const saved = await saveModel(graph, path, { externalDataFile: 'model.onnx_data' });
      const session = await createSession(path, { device: 'cpu' });
      try {
        const out = await session.run({ ids: i64(ids, [1, 4]) });
        return { bytes: saved.external!.bytes, head: out.head.data as Float32Array, rows: out.rows.data as Float32Array, dims: out.head.dims };
      } finally {
        await session.release();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const parted = build(64 * K);
  const tables = parted.nodes.filter((n) => n.op.opType === 'MatMulNBits').map((n) => n.inputs[1]!.name);
  assert.deepEqual(tables, ['w.q8.part0', 'w.q8.part1', 'w.q8.part2', 'w.q8.part3']);
  const whole = await run(build());
  const got = await run(parted);
  // Codes and scales once each: the parts and the lookup point into the same bytes.
  assert.equal(got.bytes, N * K + N * (K / blockSize) * 4);
  assert.equal(got.bytes, whole.bytes);
  assert.deepEqual(got.dims, [1, 4, N]);
  for (let i = 0; i < whole.head.length; i++) assert.ok(Math.abs(got.head[i] - whole.head[i]) <= 1e-5 * (1 + Math.abs(whole.head[i])), `head ${i}: ${got.head[i]} vs ${whole.head[i]}`);
  assert.deepEqual(got.rows, whole.rows);
});

test('the lookup stays float where GatherBlockQuantized cannot take it, with the reason', () => {
  const graph = new Graph('lookup');
  const input = graph.input('ids', 'int64', ['batch_size', 'sequence_length']);
  const table = graph.initializer('w', 'float32', [48, 8], randomMatrix(48, 8, 3)); // K = 48: not whole blocks of 32
  graph.output(transpose(gather(table, input, 1), [1, 2, 0]), 'rows');
  graph.output(matmul(graph.input('x', 'float32', ['batch_size', 48]), table), 'head');
  const report = quantizeGraph(graph, { bits: 4 });
  assert.deepEqual(report.kept, [{ name: 'w', reason: 'lookup stays float: rows of 48 are not whole blocks of 32' }]);
  assert.deepEqual(report.lookups, []);
  assert.ok(graph.initializers.includes(table));
  const asym = new Graph('asym');
  const ids = asym.input('ids', 'int64', ['batch_size', 'sequence_length']);
  const t2 = asym.initializer('w', 'float32', [32, 8], randomMatrix(32, 8, 3));
  asym.output(transpose(gather(t2, ids, 1), [1, 2, 0]), 'rows');
  asym.output(matmul(asym.input('x', 'float32', ['batch_size', 32]), t2), 'head');
  assert.match(quantizeGraph(asym, { bits: 4, symmetric: false }).kept[0].reason, /4-bit zero points/);
});

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
    const cases: [QuantBits, QuantizeOptions['shared'], boolean][] = [
      [8, 'float', false], [4, 'float', false], [8, 'copy', false], [4, 'copy', false], [8, 'quantized', true], [4, 'quantized', true], [4, 'copy', true],
    ];
    for (const [bits, shared, symmetric] of cases) {
      const graph = buildInferenceGraph(config, await weights());
      const report = quantizeGraph(graph, { bits, shared, symmetric });
      // Every projection of every layer (7 per layer); the tied embedding too unless 'float'.
      assert.equal(report.quantized.length, 7 * config.numLayers + (shared === 'float' ? 0 : 1));
      const embedding = graph.initializers.find((t) => t.name === 'model.embed_tokens.weight.T');
      assert.equal(!!embedding, shared !== 'quantized', 'the float embedding stays exactly when the lookup reads it');
      assert.equal(graph.nodes.filter((n) => n.op.opType === 'GatherBlockQuantized').length, shared === 'quantized' ? 1 : 0);
      assert.deepEqual(report.lookups, shared === 'quantized' ? ['model.embed_tokens.weight.T'] : []);
      if (shared === 'float') assert.match(report.kept[0]?.reason ?? '', /other node/);
      assert.equal(graph.nodes.filter((n) => n.op.opType === 'MatMul' && n.inputs[1]?.kind === 'initializer').length, shared === 'float' ? 1 : 0);
      const drift = logProbDrift(reference, await logitsOf(graph, config, ids), ids, config.vocabSize);
      const bound = BOUNDS[bits];
      const what = `int${bits} ${symmetric ? 'symmetric' : 'asymmetric'}, shared ${shared}: ${JSON.stringify(drift)}`;
      // A quantized model that equals the float one would mean nothing got quantized.
      assert.ok(drift.meanAbs > 0, what);
      assert.ok(drift.meanAbs < bound.mean && drift.maxAbs < bound.max && drift.top1Agreement >= bound.top1, what);
    }
  });
});

/** The checkpoint's weights as the float64 reference takes them, every matrix replaced by its codes as the spec reads them back. */
function dequantizedReference(ref: RefWeights, format: QuantFormat): RefWeights {
  const out: RefWeights = new Map();
  for (const [name, t] of ref) {
    if (t.shape.length !== 2) {
      out.set(name, t);
      continue;
    }
    // [out, in] (the embedding [vocab, hidden]): quantized along `in`, as the graphs quantize x @ W^T and the lookup's rows.
    const [n, k] = t.shape;
    const q = quantizeMatrix(Float32Array.from(t.data), k, n, format, 'nk');
    const deq = specDequantize(q);
    // The dequantized weights are the float ones within the quantization step.
    assertWithinStep(Float64Array.from({ length: k * n }, (_, i) => t.data[(i % n) * k + Math.floor(i / n)]), deq, q);
    out.set(name, { data: Float64Array.from({ length: k * n }, (_, i) => deq[(i % k) * n + Math.floor(i / k)]), shape: t.shape });
  }
  return out;
}

const REF_IDS = [1, 5, 9, 47, 3, 3, 20, 11, 0, 30, 2, 17, 44, 8];

for (const name of ['qwen2_bias_tied', 'llama_gqa']) {
  for (const [bits, symmetric, blockSize] of [[4, true, 16], [8, true, 32], [8, false, 16]] as const) {
    test(`quantized plain and contrib graphs equal the float64 reference on the dequantized weights: ${name}, ${symmetric ? 'symmetric' : 'asymmetric'} int${bits}, block ${blockSize} (accuracy_level 0)`, async () => {
      const m = tinyModel(name);
      const format = { bits, symmetric, blockSize };
      const expected = refLogits(m.raw, dequantizedReference(m.ref, format), REF_IDS);
      const floatDiff = maxAbsDiff(refLogits(m.raw, m.ref, REF_IDS), expected);
      for (const build of [buildInferenceGraph, buildContribInferenceGraph]) {
        const graph = build(m.config, tinyModel(name).weights);
        const report = quantizeGraph(graph, { ...format, accuracyLevel: 0 });
        assert.deepEqual(report.lookups, [m.config.tieWordEmbeddings ? 'model.embed_tokens.weight.T' : 'model.embed_tokens.weight']);
        assert.ok(!graph.initializers.some((t) => t.dtype === 'float32' && t.rank === 2 && !/^rope\.|\.scales$/.test(t.name)), 'a float matrix is left in the graph');
        const diff = maxAbsDiff(await logitsOf(graph, m.config, REF_IDS), expected);
        assert.ok(diff < 1e-4, `${graph.name}: logits differ by up to ${diff} from the reference on dequantized weights`);
        // The check can see quantization: the reference on the float weights is far off.
        assert.ok(floatDiff > 100 * diff, `quantization moved the reference only ${floatDiff}`);
      }
    });
  }
}

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
