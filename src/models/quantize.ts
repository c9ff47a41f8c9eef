// Weight-only block quantization for CPU decoding: a pass over a built inference graph that turns
// `MatMul(x, W)` with a constant float32 W [K, N] into ONNX Runtime's contrib op
// com.microsoft MatMulNBits, so a decoded token streams 4 or 8 bits per weight instead of 32, and the
// embedding lookup into GatherBlockQuantized over the same codes, so no float copy of the table stays.
//
// Layout (ONNX Runtime's MatMulNBits, src/onnx/contrib.ts): W is cut along K into blocks of `blockSize`
// per output column; B is uint8 [N, blocks, blockSize * bits / 8] with codes packed low bits first along
// K (for 4 bits: even k in the low nibble), and each block has a float32 scale.
// - symmetric (default; llama.cpp's q8_0 / q4_0): no zero points; the kernel's implicit zero point is
//   2^(bits - 1), so w ~ (q - 2^(bits - 1)) * scale. 8 bits: scale = max|w| / 127. 4 bits: scale =
//   -m / 8 for the block's weight m of largest magnitude (a signed scale, as q4_0), so m itself is
//   exact at code 0 and the 15 other codes cover the rest; a weight of -m would need code 16 and is
//   clipped to 15, one step off.
// - asymmetric: a uint8 zero point per block, packed the same way ([N, ceil(blocks * bits / 8)]);
//   w ~ (q - zp) * scale with q in [0, 2^bits - 1] over the block's range widened to include 0 (as
//   ONNX Runtime's own quantizer does).
// Either way a zero weight stays exactly zero.
import { type Graph, type Tensor, concat } from '../onnx';
import { type GraphNode, consumerMap, isPlain, replaceTensor, rowLookup } from './graph-rewrite';
import { type BlockQuantizedTable, gatherBlockQuantized, matMulNBits, matMulNBitsCall, matMulNBitsOp } from '../onnx/contrib';
import { argmaxOf } from './token-choice';

export type QuantBits = 4 | 8;

/** How weights are coded: bits, block size along K, and whether blocks carry zero points. */
export interface QuantFormat {
  bits: QuantBits;
  /** Weights per block along K: a power of two, at least 16. Default 32. */
  blockSize?: number;
  /** No zero points (q8_0 / q4_0 style): fewer bytes and ONNX Runtime's faster kernel path. Default true. */
  symmetric?: boolean;
}

export interface QuantizeOptions extends QuantFormat {
  /** Which float initializers (by name, e.g. `model.layers.0.mlp.up_proj.weight.T`) to quantize; default all. */
  include?: (initializerName: string) => boolean;
  /**
   * MatMulNBits `accuracy_level`: 0 leaves the activations in float32; 4 lets the CPU kernel quantize
   * them to int8 per block and use integer dot products (faster, a little more error). Default 4.
   */
  accuracyLevel?: 0 | 1 | 4;
  /**
   * Embedding tables: the tied embedding (gathered for the lookup and multiplied for the logits) and an
   * untied one (gathered only).
   * - 'quantized' (default): one quantized table serves the head (MatMulNBits) and the lookup
   *   (GatherBlockQuantized); no float copy stays (544 MB on Qwen2.5-0.5B). An untied table is
   *   quantized for its lookup too.
   * - 'copy': the head reads a quantized copy, the lookup keeps gathering the float table.
   * - 'float': tables that anything but a MatMul reads stay float (the head too).
   * The head is the largest matrix of a small model (28% of Qwen2.5-0.5B), so quantizing it pays most.
   */
  shared?: 'quantized' | 'copy' | 'float';
  /** External weights of more code bytes than this are multiplied in parts (MATMUL_PART_BYTES, the default). */
  partBytes?: number;
}

export interface QuantizeReport {
  /** Float initializers replaced (or, when shared, copied) by quantized ones. */
  quantized: string[];
  /** Tables whose lookup now reads the quantized codes (GatherBlockQuantized). */
  lookups: string[];
  /** Constant MatMul weights (and lookups) left in float, with the reason. */
  kept: { name: string; reason: string }[];
  /** Bytes of the quantized weights as float32, and as packed codes + scales + zero points. */
  floatBytes: number;
  quantizedBytes: number;
}

/** A [K, N] matrix in MatMulNBits' layout. */
export interface QuantizedMatrix {
  bits: QuantBits;
  blockSize: number;
  symmetric: boolean;
  k: number;
  n: number;
  blocks: number;
  /** uint8 [n, blocks, blockSize * bits / 8]. */
  packed: Uint8Array;
  /** float32 [n, blocks]; negative where a 4-bit symmetric block's largest weight is positive. */
  scales: Float32Array;
  /** uint8 [n, ceil(blocks * bits / 8)]; absent when symmetric (the zero point is 2^(bits - 1)). */
  zeroPoints?: Uint8Array;
}

function checkFormat(bits: number, blockSize: number): void {
  if (bits !== 4 && bits !== 8) throw new Error(`quantize: bits must be 4 or 8, got ${bits}`);
  if (!Number.isInteger(blockSize) || blockSize < 16 || (blockSize & (blockSize - 1)) !== 0) {
    throw new Error(`quantize: block size must be a power of two of at least 16, got ${blockSize}`);
  }
}

/** One block's scale and zero point, from its weights (read through `at`). */
function blockParameters(bits: QuantBits, symmetric: boolean, values: (visit: (v: number) => void) => void): { scale: number; zp: number } {
  const qmax = (1 << bits) - 1;
  if (symmetric) {
    let m = 0; // the weight of largest magnitude, with its sign
    values((v) => {
      if (Math.abs(v) > Math.abs(m)) m = v;
    });
    // The float32 scale is what the kernel multiplies by, so the codes are rounded against it.
    return { scale: Math.fround(bits === 8 ? Math.abs(m) / 127 : -m / 8), zp: 1 << (bits - 1) };
  }
  let lo = 0;
  let hi = 0;
  values((v) => {
    if (v < lo) lo = v;
    else if (v > hi) hi = v;
  });
  const scale = Math.fround((hi - lo) / qmax);
  return { scale, zp: scale === 0 ? 0 : Math.min(qmax, Math.max(0, Math.round(-lo / scale))) };
}

/**
 * Quantizes a float32 matrix, logically [k, n] (x @ W: quantized along k, one table row per column n),
 * block-wise along k. `stored` says how `w` holds it: 'kn' row-major [k, n] (the decoder's transposed
 * projections), 'nk' row-major [n, k] (an untied embedding table, a row per token). Column by column
 * within a block of rows, so a 'kn' block's rows stay in cache while the reads walk along them.
 */
export function quantizeMatrix(w: Float32Array, k: number, n: number, format: QuantFormat, stored: 'kn' | 'nk' = 'kn'): QuantizedMatrix {
  const { bits } = format;
  const blockSize = format.blockSize ?? 32;
  const symmetric = format.symmetric ?? true;
  checkFormat(bits, blockSize);
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 1 || n < 1 || w.length !== k * n) {
    throw new Error(`quantize: ${w.length} values are not a [${k}, ${n}] matrix`);
  }
  const [rowStride, colStride] = stored === 'kn' ? [n, 1] : [1, k];
  const qmax = (1 << bits) - 1;
  const perByte = 8 / bits;
  const blocks = Math.ceil(k / blockSize);
  const blob = blockSize / perByte;
  const zpRow = Math.ceil(blocks / perByte);
  const packed = new Uint8Array(n * blocks * blob);
  const scales = new Float32Array(n * blocks);
  const zeroPoints = symmetric ? undefined : new Uint8Array(n * zpRow);
  for (let b = 0; b < blocks; b++) {
    const k0 = b * blockSize;
    const k1 = Math.min(k, k0 + blockSize);
    for (let j = 0; j < n; j++) {
      const first = k0 * rowStride + j * colStride;
      const last = k1 * rowStride + j * colStride;
      const { scale, zp } = blockParameters(bits, symmetric, (visit) => {
        for (let i = first; i < last; i += rowStride) visit(w[i]);
      });
      if (!Number.isFinite(scale)) throw new Error(`quantize: column ${j} has non-finite weights in rows ${k0}..${k1 - 1}`);
      const inv = scale === 0 ? 0 : 1 / scale;
      scales[j * blocks + b] = scale;
      if (zeroPoints) zeroPoints[j * zpRow + Math.floor(b / perByte)] |= zp << ((b % perByte) * bits);
      // Padding past K keeps the zero point, so it dequantizes to 0 whatever the kernel does with it.
      const out = (j * blocks + b) * blob;
      for (let r = k0, i = first; r < k0 + blockSize; r++, i += rowStride) {
        let q = zp;
        if (r < k1) {
          // Round half up; `| 0` truncates, which equals floor here except below 0, clamped anyway.
          // (Math.round costs several times more per weight in V8.)
          q = (w[i] * inv + zp + 0.5) | 0;
          q = q < 0 ? 0 : q > qmax ? qmax : q;
        }
        packed[out + ((r - k0) >> (bits === 4 ? 1 : 0))] |= q << (bits === 4 ? ((r - k0) & 1) * 4 : 0);
      }
    }
  }
  return { bits, blockSize, symmetric, k, n, blocks, packed, scales, ...(zeroPoints ? { zeroPoints } : {}) };
}

/** Float32 values of a quantized matrix, row-major [k, n] (what the kernels compute with, up to accuracy_level). */
export function dequantizeMatrix(q: QuantizedMatrix): Float32Array {
  const { bits, blockSize, k, n, blocks } = q;
  const blob = (blockSize * bits) / 8;
  const zpRow = Math.ceil((blocks * bits) / 8);
  const field = (byte: number, index: number): number => (bits === 8 ? byte : (byte >> ((index & 1) * 4)) & 0x0f);
  const out = new Float32Array(k * n);
  for (let j = 0; j < n; j++) {
    for (let r = 0; r < k; r++) {
      const b = Math.floor(r / blockSize);
      const within = r % blockSize;
      const code = field(q.packed[(j * blocks + b) * blob + Math.floor((within * bits) / 8)], within);
      const zp = q.zeroPoints ? field(q.zeroPoints[j * zpRow + Math.floor((b * bits) / 8)], b) : 1 << (bits - 1);
      out[r * n + j] = (code - zp) * q.scales[j * blocks + b];
    }
  }
  return out;
}

/**
 * Quantized weights of more code bytes than this are multiplied in parts of at most this many (whole
 * rows of N, 64 at a time) whose outputs are concatenated. ONNX Runtime maps a weight's bytes from the
 * data file while it prepacks them for MatMulNBits and unmaps them after: with the 0.5B shape's head
 * in one part, its 136 MB mapping and its prepacked copy coexisted, and that moment was the process's
 * peak RSS. Parts are views of one table (serialize writes the bytes once); each output column is
 * computed as before, so the logits are the same.
 */
export const MATMUL_PART_BYTES = 32 * 2 ** 20;

/** The table as row ranges of at most MATMUL_PART_BYTES of codes, each its own initializers over the same arrays. */
function tableParts(graph: Graph, table: BlockQuantizedTable, q: QuantizedMatrix, stem: string, partBytes: number): BlockQuantizedTable[] {
  const { n, blocks } = q;
  const rowBytes = q.packed.length / n;
  const zpRow = q.zeroPoints ? q.zeroPoints.length / n : 0;
  const rowsPerPart = Math.max(64, Math.floor(partBytes / rowBytes / 64) * 64);
  const external = { external: true };
  if (n <= rowsPerPart) return [table];
  const parts: BlockQuantizedTable[] = [];
  for (let r0 = 0, i = 0; r0 < n; r0 += rowsPerPart, i++) {
    const rows = Math.min(rowsPerPart, n - r0);
    const name = `${stem}.part${i}`;
    parts.push({
      ...table,
      codes: graph.initializer(name, 'uint8', [rows, ...(table.codes.shape.slice(1) as number[])], q.packed.subarray(r0 * rowBytes, (r0 + rows) * rowBytes), external),
      scales: graph.initializer(`${name}.scales`, 'float32', [rows, blocks], q.scales.subarray(r0 * blocks, (r0 + rows) * blocks), external),
      ...(q.zeroPoints ? { zeroPoints: graph.initializer(`${name}.zero_points`, 'uint8', [rows, zpRow], q.zeroPoints.subarray(r0 * zpRow, (r0 + rows) * zpRow), external) } : {}),
    });
  }
  return parts;
}

/** Why a constant MatMul weight cannot become MatMulNBits, or undefined when it can. */
function unsuitable(w: Tensor, readers: { node: GraphNode; slot: number }[]): string | undefined {
  if (w.dtype !== 'float32') return `${w.dtype}, not float32`;
  if (w.rank !== 2) return `rank ${w.rank}, not a [K, N] matrix`;
  for (const { node } of readers) {
    if (!isPlain(node, 'MatMul') || node.inputs[1] !== w) continue;
    const a = node.inputs[0]!;
    if (a.rank < 2) return `multiplied by a rank-${a.rank} tensor (MatMulNBits wants [..., K])`;
  }
  return undefined;
}

/**
 * Replaces MatMul nodes whose second input is a float32 initializer [K, N] by MatMulNBits, and (with
 * `shared: 'quantized'`, the default) Gathers of float tables by GatherBlockQuantized over the same
 * codes; drops float initializers nothing reads any more. Only for inference graphs: these ops have
 * no gradient. Mutates `graph`; returns what was quantized and what was kept in float, and why.
 */
export function quantizeGraph(graph: Graph, options: QuantizeOptions): QuantizeReport {
  const format: Required<QuantFormat> = { bits: options.bits, blockSize: options.blockSize ?? 32, symmetric: options.symmetric ?? true };
  checkFormat(format.bits, format.blockSize);
  const accuracyLevel = options.accuracyLevel ?? 4;
  const shared = options.shared ?? 'quantized';
  const consumers = consumerMap(graph);
  const readers = new Map<Tensor, { node: GraphNode; slot: number }[]>();
  for (const node of graph.nodes) {
    node.inputs.forEach((t, slot) => {
      if (t?.kind !== 'initializer') return;
      let list = readers.get(t);
      if (!list) readers.set(t, (list = []));
      list.push({ node, slot });
    });
  }
  const report: QuantizeReport = { quantized: [], lookups: [], kept: [], floatBytes: 0, quantizedBytes: 0 };
  for (const [w, uses] of readers) {
    if (!(options.include?.(w.name) ?? true)) continue;
    const matmuls = uses.filter(({ node, slot }) => slot === 1 && isPlain(node, 'MatMul')).map((u) => u.node);
    const gathers = uses.filter(({ node, slot }) => slot === 0 && isPlain(node, 'Gather')).map((u) => u.node);
    const others = uses.length - matmuls.length - gathers.length;
    // A table only gathered (an untied embedding) is stored [N, K]; everything else as MatMul's [K, N].
    const stored = matmuls.length === 0 ? 'nk' : 'kn';
    if (matmuls.length === 0 && (gathers.length === 0 || others > 0 || shared !== 'quantized' || w.dtype !== 'float32' || w.rank !== 2)) continue;
    const reason = unsuitable(w, uses);
    const nonMatMul = uses.length - matmuls.length;
    const keep = reason ?? (nonMatMul > 0 && shared === 'float' ? `also read by ${nonMatMul} other node(s) (shared: 'float')` : undefined);
    if (keep) {
      report.kept.push({ name: w.name, reason: keep });
      continue;
    }
    const [k, n] = stored === 'kn' ? (w.shape as number[]) : [w.shape[1] as number, w.shape[0] as number];
    const q = quantizeMatrix(w.const!.data as Float32Array, k, n, format, stored);
    const external = { external: w.external };
    const stem = `${w.name}.q${format.bits}`;
    const table: BlockQuantizedTable = {
      codes: graph.initializer(stem, 'uint8', [n, q.blocks, q.packed.length / (n * q.blocks)], q.packed, external),
      scales: graph.initializer(`${stem}.scales`, 'float32', [n, q.blocks], q.scales, external),
      ...(q.zeroPoints ? { zeroPoints: graph.initializer(`${stem}.zero_points`, 'uint8', [n, q.zeroPoints.length / n], q.zeroPoints, external) } : {}),
      bits: format.bits, blockSize: format.blockSize, k,
    };
    const parts = w.external ? tableParts(graph, table, q, stem, options.partBytes ?? MATMUL_PART_BYTES) : [table];
    for (const node of matmuls) {
      if (parts.length > 1) {
        const x = node.inputs[0]!;
        replaceTensor(graph, consumers, node.outputs[0], () => concat(parts.map((part) => matMulNBits(x, part, accuracyLevel)), -1));
        continue;
      }
      const { inputs, attrs } = matMulNBitsCall(node.inputs[0]!, table, accuracyLevel);
      node.replaceOp(matMulNBitsOp, inputs, attrs);
    }
    // A tied table's lookup reads its own initializers over the same bytes (external data written
    // once, serialize.ts): ONNX Runtime prepacks the head's codes into MatMulNBits' layout and frees
    // their load-time copy, where a shared initializer stayed resident whole for the lookup (~145 MB
    // on Qwen2.5-0.5B at int8). The lookup's own is memory-mapped: only looked-up rows are paged in.
    const lookupTable: BlockQuantizedTable = matmuls.length > 0 && w.external ? {
      ...table,
      codes: graph.initializer(`${stem}.lookup`, 'uint8', table.codes.shape as number[], q.packed, external),
      scales: graph.initializer(`${stem}.lookup.scales`, 'float32', table.scales.shape as number[], q.scales, external),
      ...(q.zeroPoints ? { zeroPoints: graph.initializer(`${stem}.lookup.zero_points`, 'uint8', table.zeroPoints!.shape as number[], q.zeroPoints, external) } : {}),
    } : table;
    let floatReaders = others;
    for (const gather of gathers) {
      const lookup = shared === 'quantized' ? rowLookup(gather, stored, consumers, graph) : undefined;
      const why = shared !== 'quantized' ? undefined
        : !lookup ? 'a Gather GatherBlockQuantized cannot replace'
        : k % format.blockSize !== 0 ? `rows of ${k} are not whole blocks of ${format.blockSize}`
        : format.bits === 4 && !format.symmetric ? '4-bit zero points are packed per row for MatMulNBits, not per block'
        : undefined;
      if (!lookup || why) {
        if (why) report.kept.push({ name: w.name, reason: `lookup stays float: ${why}` });
        floatReaders++;
        continue;
      }
      replaceTensor(graph, consumers, lookup.rows, () => gatherBlockQuantized(lookupTable, lookup.indices));
      if (!report.lookups.includes(w.name)) report.lookups.push(w.name);
    }
    // serialize() leaves out nodes and initializers no output depends on any more.
    if (floatReaders === 0) graph.initializers.splice(graph.initializers.indexOf(w), 1);
    report.quantized.push(w.name);
    report.floatBytes += w.const!.data.byteLength;
    report.quantizedBytes += q.packed.byteLength + q.scales.byteLength + (q.zeroPoints?.byteLength ?? 0);
  }
  return report;
}

export interface LogProbDrift {
  /** Mean and max over positions of |log p_quantized(next) - log p_reference(next)|. */
  meanAbs: number;
  maxAbs: number;
  /** Share of positions where both models rank the same token first. */
  top1Agreement: number;
  /** Mean entropy of the reference's next-token distributions: near ln(vocab), top-1 is a coin toss. */
  referenceEntropy: number;
  positions: number;
}

function logNormalizer(row: Float32Array): number {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  return max + Math.log(sum);
}

function entropy(row: Float32Array, normalizer: number): number {
  let h = 0;
  for (const v of row) {
    const logp = v - normalizer;
    h -= Math.exp(logp) * logp;
  }
  return h;
}

/**
 * How far a quantized model's next-token log-probs move from the float model's over one text:
 * `reference` and `logits` are [T, vocab] from a full-sequence pass over `ids` (length T); position t
 * predicts ids[t + 1].
 */
export function logProbDrift(reference: Float32Array, logits: Float32Array, ids: readonly number[], vocab: number): LogProbDrift {
  const positions = ids.length - 1;
  if (positions < 1 || reference.length !== ids.length * vocab || logits.length !== reference.length) {
    throw new Error(`logProbDrift: expects two [${ids.length}, ${vocab}] logit tables and at least two ids`);
  }
  let sum = 0;
  let maxAbs = 0;
  let agree = 0;
  let entropySum = 0;
  for (let t = 0; t < positions; t++) {
    const ref = reference.subarray(t * vocab, (t + 1) * vocab);
    const ours = logits.subarray(t * vocab, (t + 1) * vocab);
    const refNormalizer = logNormalizer(ref);
    const next = ids[t + 1];
    const d = Math.abs(ours[next] - logNormalizer(ours) - (ref[next] - refNormalizer));
    sum += d;
    maxAbs = Math.max(maxAbs, d);
    entropySum += entropy(ref, refNormalizer);
    if (argmaxOf(ref) === argmaxOf(ours)) agree++;
  }
  return { meanAbs: sum / positions, maxAbs, top1Agreement: agree / positions, referenceEntropy: entropySum / positions, positions };
}
