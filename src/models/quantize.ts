// Weight-only block quantization for CPU decoding: a pass over a built inference graph that turns
// `MatMul(x, W)` with a constant float32 W [K, N] into ONNX Runtime's contrib op
// com.microsoft MatMulNBits, so a decoded token streams 4 or 8 bits per weight instead of 32.
//
// Layout (ONNX Runtime's MatMulNBits): W is cut along K into blocks of `blockSize` per output column;
// each block has a float32 scale and a uint8 zero point, and w ~ (q - zp) * scale with q in
// [0, 2^bits - 1]. B is uint8 [N, blocks, blockSize * bits / 8] with codes packed low bits first along
// K (for 4 bits: even k in the low nibble); zero points are packed the same way, [N, ceil(blocks * bits / 8)].
// The range of every block is widened to include 0 (as ONNX Runtime's own quantizer does), so a zero
// weight stays exactly zero.
import { type Graph, type OpDef, type Tensor, ShapeError, defineOp } from '../onnx';

export type QuantBits = 4 | 8;

export interface QuantizeOptions {
  bits: QuantBits;
  /** Weights per block along K: a power of two, at least 16. Default 32. */
  blockSize?: number;
  /** Which float initializers (by name, e.g. `model.layers.0.mlp.up_proj.weight.T`) to quantize; default all. */
  include?: (initializerName: string) => boolean;
  /**
   * MatMulNBits `accuracy_level`: 0 leaves the activations in float32; 4 lets the CPU kernel quantize
   * them to int8 per block and use integer dot products (faster, a little more error). Default 4.
   */
  accuracyLevel?: 0 | 1 | 4;
  /**
   * A weight that non-MatMul nodes read too: the tied embedding, gathered for the lookup and multiplied
   * for the logits. 'copy' (default) quantizes a copy for the MatMul and keeps the float original for
   * the lookup; 'float' leaves it alone. The head is the largest matrix of a small model (28% of
   * Qwen2.5-0.5B), so 'copy' decodes faster for the same drift, and it costs little memory: a float
   * MatMul weight is held twice anyway, since ONNX Runtime prepacks it beside the original.
   */
  shared?: 'float' | 'copy';
}

export interface QuantizeReport {
  /** Float initializers replaced (or, when shared, copied) by quantized ones. */
  quantized: string[];
  /** Constant MatMul weights left in float, with the reason. */
  kept: { name: string; reason: string }[];
  /** Bytes of the quantized weights as float32, and as packed codes + scales + zero points. */
  floatBytes: number;
  quantizedBytes: number;
}

/** A [K, N] matrix in MatMulNBits' layout. */
export interface QuantizedMatrix {
  bits: QuantBits;
  blockSize: number;
  k: number;
  n: number;
  blocks: number;
  /** uint8 [n, blocks, blockSize * bits / 8]. */
  packed: Uint8Array;
  /** float32 [n, blocks]. */
  scales: Float32Array;
  /** uint8 [n, ceil(blocks * bits / 8)]. */
  zeroPoints: Uint8Array;
}

function checkParameters(bits: number, blockSize: number): void {
  if (bits !== 4 && bits !== 8) throw new Error(`quantize: bits must be 4 or 8, got ${bits}`);
  if (!Number.isInteger(blockSize) || blockSize < 16 || (blockSize & (blockSize - 1)) !== 0) {
    throw new Error(`quantize: block size must be a power of two of at least 16, got ${blockSize}`);
  }
}

/**
 * Quantizes a row-major [k, n] float32 matrix (the decoder's transposed projection, x @ W) block-wise
 * along k. Column by column within a block of rows: the block's rows stay in cache while the reads
 * walk along them, and each column's codes are written as one contiguous blob.
 */
export function quantizeMatrix(w: Float32Array, k: number, n: number, bits: QuantBits, blockSize = 32): QuantizedMatrix {
  checkParameters(bits, blockSize);
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 1 || n < 1 || w.length !== k * n) {
    throw new Error(`quantize: ${w.length} values are not a [${k}, ${n}] matrix`);
  }
  const qmax = (1 << bits) - 1;
  const perByte = 8 / bits;
  const blocks = Math.ceil(k / blockSize);
  const blob = blockSize / perByte;
  const zpRow = Math.ceil(blocks / perByte);
  const packed = new Uint8Array(n * blocks * blob);
  const scales = new Float32Array(n * blocks);
  const zeroPoints = new Uint8Array(n * zpRow);
  for (let b = 0; b < blocks; b++) {
    const k0 = b * blockSize;
    const k1 = Math.min(k, k0 + blockSize);
    for (let j = 0; j < n; j++) {
      let lo = 0;
      let hi = 0;
      for (let i = k0 * n + j; i < k1 * n; i += n) {
        const v = w[i];
        if (v < lo) lo = v;
        else if (v > hi) hi = v;
      }
      // The float32 scale is what the kernel multiplies by, so the codes are rounded against it.
      const scale = Math.fround((hi - lo) / qmax);
      if (!Number.isFinite(scale)) throw new Error(`quantize: column ${j} has non-finite weights in rows ${k0}..${k1 - 1}`);
      const inv = scale === 0 ? 0 : 1 / scale;
      const zp = Math.min(qmax, Math.max(0, Math.round(-lo * inv)));
      scales[j * blocks + b] = scale;
      zeroPoints[j * zpRow + Math.floor(b / perByte)] |= zp << ((b % perByte) * bits);
      // Padding past K keeps the zero point, so it dequantizes to 0 whatever the kernel does with it.
      const out = (j * blocks + b) * blob;
      for (let r = k0, i = k0 * n + j; r < k0 + blockSize; r++, i += n) {
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
  return { bits, blockSize, k, n, blocks, packed, scales, zeroPoints };
}

interface MatMulNBitsAttrs { K: number; N: number; bits: number; block_size: number; accuracy_level: number }

const matMulNBitsOp: OpDef<MatMulNBitsAttrs> = defineOp<MatMulNBitsAttrs>({
  opType: 'MatMulNBits',
  domain: 'com.microsoft',
  attrKinds: { K: 'int', N: 'int', bits: 'int', block_size: 'int', accuracy_level: 'int' },
  infer: (xs, attrs) => {
    const a = xs[0]!;
    const inner = a.shape[a.rank - 1];
    if (a.dtype !== 'float32' || a.rank < 2 || (typeof inner === 'number' && inner !== attrs.K)) {
      throw new ShapeError(`MatMulNBits: expects float32 A [..., ${attrs.K}], got ${a}`);
    }
    return [{ dtype: 'float32', shape: [...a.shape.slice(0, -1), attrs.N] }];
  },
});

type GraphNode = Graph['nodes'][number];

function isPlainMatMul(node: GraphNode): boolean {
  return node.op.opType === 'MatMul' && !node.op.domain;
}

/** Why a constant MatMul weight cannot become MatMulNBits, or undefined when it can. */
function unsuitable(w: Tensor, readers: { node: GraphNode; slot: number }[]): string | undefined {
  if (w.dtype !== 'float32') return `${w.dtype}, not float32`;
  if (w.rank !== 2) return `rank ${w.rank}, not a [K, N] matrix`;
  for (const { node } of readers) {
    if (!isPlainMatMul(node) || node.inputs[1] !== w) continue;
    const a = node.inputs[0]!;
    if (a.rank < 2) return `multiplied by a rank-${a.rank} tensor (MatMulNBits wants [..., K])`;
  }
  return undefined;
}

/**
 * Replaces MatMul nodes whose second input is a float32 initializer [K, N] by MatMulNBits with
 * `bits`-bit codes, and drops the float initializer. Only for inference graphs: MatMulNBits has no
 * gradient. Mutates `graph`; returns what was quantized and what was kept in float, and why.
 */
export function quantizeGraph(graph: Graph, options: QuantizeOptions): QuantizeReport {
  const blockSize = options.blockSize ?? 32;
  checkParameters(options.bits, blockSize);
  const accuracyLevel = options.accuracyLevel ?? 4;
  const shared = options.shared ?? 'copy';
  const readers = new Map<Tensor, { node: GraphNode; slot: number }[]>();
  for (const node of graph.nodes) {
    node.inputs.forEach((t, slot) => {
      if (t?.kind !== 'initializer') return;
      let list = readers.get(t);
      if (!list) readers.set(t, (list = []));
      list.push({ node, slot });
    });
  }
  const report: QuantizeReport = { quantized: [], kept: [], floatBytes: 0, quantizedBytes: 0 };
  for (const [w, uses] of readers) {
    const matmuls = uses.filter(({ node, slot }) => slot === 1 && isPlainMatMul(node)).map((u) => u.node);
    if (matmuls.length === 0 || !(options.include?.(w.name) ?? true)) continue;
    const reason = unsuitable(w, uses);
    const others = uses.length - matmuls.length;
    const keep = reason ?? (others > 0 && shared === 'float' ? `also read by ${others} other node(s) (shared: 'float')` : undefined);
    if (keep) {
      report.kept.push({ name: w.name, reason: keep });
      continue;
    }
    const [k, n] = w.shape as number[];
    const q = quantizeMatrix(w.const!.data as Float32Array, k, n, options.bits, blockSize);
    const external = { external: w.external };
    const stem = `${w.name}.q${options.bits}`;
    const b = graph.initializer(stem, 'uint8', [n, q.blocks, q.packed.length / (n * q.blocks)], q.packed, external);
    const scales = graph.initializer(`${stem}.scales`, 'float32', [n, q.blocks], q.scales, external);
    const zeroPoints = graph.initializer(`${stem}.zero_points`, 'uint8', [n, q.zeroPoints.length / n], q.zeroPoints, external);
    const attrs: MatMulNBitsAttrs = { K: k, N: n, bits: options.bits, block_size: blockSize, accuracy_level: accuracyLevel };
    for (const node of matmuls) node.replaceOp(matMulNBitsOp, [node.inputs[0]!, b, scales, zeroPoints], attrs);
    if (others === 0) graph.initializers.splice(graph.initializers.indexOf(w), 1);
    report.quantized.push(w.name);
    report.floatBytes += w.const!.data.byteLength;
    report.quantizedBytes += q.packed.byteLength + q.scales.byteLength + q.zeroPoints.byteLength;
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

function argMax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
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
    if (argMax(ref) === argMax(ours)) agree++;
  }
  return { meanAbs: sum / positions, maxAbs, top1Agreement: agree / positions, referenceEntropy: entropySum / positions, positions };
}
