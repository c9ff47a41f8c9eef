// ONNX Runtime's contrib ops used by the decoding graph: fused attention with a KV cache, rotary
// embedding, RMS normalization, and block-quantized weights (MatMulNBits, GatherBlockQuantized). Forward only: they have no gradient rules, so a graph that uses
// them serves inference, never training. Layouts and attributes follow ORT's ContribOperators.md.
import { apply, defineOp, requireFloat, type Tensor } from './graph';
import { reshape } from './ops/shape-ops';
import { type Dim, ShapeError, formatShape } from './shape';

const MS = 'com.microsoft';

function requireRank(op: string, t: Tensor, rank: number, what: string): void {
  if (t.rank !== rank) throw new ShapeError(`${op}: ${what} must have rank ${rank}, got ${formatShape(t.shape)}`);
}

function requireDType(op: string, t: Tensor, dtype: Tensor['dtype'], what: string): void {
  if (t.dtype !== dtype) throw new ShapeError(`${op}: ${what} must be ${dtype}, got ${t.toString()}`);
}

interface GqaAttrs {
  num_heads: number;
  kv_num_heads: number;
  local_window_size?: number;
  scale?: number;
}

const gqaOp = defineOp<GqaAttrs>({
  opType: 'GroupQueryAttention',
  domain: MS,
  attrKinds: { num_heads: 'int', kv_num_heads: 'int', local_window_size: 'int', scale: 'float' },
  infer: ([query, , , pastKey], { num_heads: heads, kv_num_heads: kvHeads }) => {
    const q = query!;
    requireFloat('GroupQueryAttention', q);
    const headDim = pastKey!.shape[3];
    const kvShape: Dim[] = [q.shape[0], kvHeads, null, headDim];
    return [
      { dtype: q.dtype, shape: [q.shape[0], q.shape[1], typeof headDim === 'number' ? heads * headDim : null] },
      { dtype: pastKey!.dtype, shape: kvShape },
      { dtype: pastKey!.dtype, shape: kvShape },
    ];
  },
});

export interface GroupQueryAttentionArgs {
  /** [batch, seq, heads * head_dim], rotary already applied. */
  query: Tensor;
  /** [batch, seq, kv_heads * head_dim], rotary already applied. */
  key: Tensor;
  value: Tensor;
  /** [batch, kv_heads, past, head_dim] (BNSH). */
  pastKey: Tensor;
  pastValue: Tensor;
  /** int32 [batch]: each row's total length (past + new) minus one. */
  seqlensK: Tensor;
  /** int32 scalar: the longest total length in the batch. */
  totalSequenceLength: Tensor;
  /** Added to the scaled scores before softmax: [batch or 1, heads or 1, seq, total]. */
  attentionBias?: Tensor;
  numHeads: number;
  kvNumHeads: number;
  /** Keys further back than this (query index - key index > window) are not attended; absent: no window. */
  localWindowSize?: number;
}

/**
 * com.microsoft.GroupQueryAttention: causal grouped-query attention that appends the new keys and
 * values to the cache. Returns the attention output [batch, seq, heads * head_dim] and the present
 * key and value caches [batch, kv_heads, past + seq, head_dim].
 */
export function groupQueryAttention(a: GroupQueryAttentionArgs): { output: Tensor; presentKey: Tensor; presentValue: Tensor } {
  const op = 'GroupQueryAttention';
  requireRank(op, a.query, 3, 'query');
  requireRank(op, a.pastKey, 4, 'past_key');
  requireDType(op, a.seqlensK, 'int32', 'seqlens_k');
  requireDType(op, a.totalSequenceLength, 'int32', 'total_sequence_length');
  if (a.numHeads % a.kvNumHeads !== 0) throw new ShapeError(`${op}: ${a.numHeads} heads do not split into ${a.kvNumHeads} kv heads`);
  // Inputs 7-9 (cos/sin caches, position_ids) stay empty: rotary is applied before the op.
  const inputs = [a.query, a.key, a.value, a.pastKey, a.pastValue, a.seqlensK, a.totalSequenceLength, undefined, undefined, undefined, a.attentionBias];
  const attrs: GqaAttrs = { num_heads: a.numHeads, kv_num_heads: a.kvNumHeads };
  if (a.localWindowSize !== undefined) attrs.local_window_size = a.localWindowSize;
  const [output, presentKey, presentValue] = apply(gqaOp, inputs, attrs);
  return { output, presentKey, presentValue };
}

interface RotaryAttrs { num_heads: number; interleaved: number }

const rotaryOp = defineOp<RotaryAttrs>({
  opType: 'RotaryEmbedding',
  domain: MS,
  attrKinds: { num_heads: 'int', interleaved: 'int' },
  infer: ([x]) => {
    requireFloat('RotaryEmbedding', x!);
    return [{ dtype: x!.dtype, shape: x!.shape }];
  },
});

/**
 * com.microsoft.RotaryEmbedding, rotate_half form (not interleaved), on x [batch, seq, heads * head_dim]
 * at position_ids [batch, seq]; cos/sin caches are [max_position, head_dim / 2] tables of
 * cos(p * inv_freq) and sin(p * inv_freq).
 */
export function rotaryEmbedding(x: Tensor, positionIds: Tensor, cosCache: Tensor, sinCache: Tensor, numHeads: number): Tensor {
  requireRank('RotaryEmbedding', x, 3, 'input');
  requireDType('RotaryEmbedding', positionIds, 'int64', 'position_ids');
  requireRank('RotaryEmbedding', cosCache, 2, 'cos_cache');
  if (cosCache.dtype !== x.dtype || sinCache.dtype !== x.dtype) throw new ShapeError('RotaryEmbedding: cos/sin caches must have the input\'s dtype');
  return apply(rotaryOp, [x, positionIds, cosCache, sinCache], { num_heads: numHeads, interleaved: 0 })[0];
}

const simplifiedNormOp = defineOp<{ axis: number; epsilon: number }>({
  // Registered by ORT in the default ONNX domain, not com.microsoft.
  opType: 'SimplifiedLayerNormalization',
  attrKinds: { axis: 'int', epsilon: 'float' },
  infer: ([x]) => {
    requireFloat('SimplifiedLayerNormalization', x!);
    return [{ dtype: x!.dtype, shape: x!.shape }];
  },
});

/** RMSNorm over the last axis: x / sqrt(mean(x^2) + eps) * scale, accumulated in float32. */
export function simplifiedLayerNorm(x: Tensor, scale: Tensor, epsilon: number): Tensor {
  return apply(simplifiedNormOp, [x, scale], { axis: -1, epsilon })[0];
}

const skipNormOp = defineOp<{ epsilon: number }>({
  opType: 'SkipSimplifiedLayerNormalization',
  domain: MS,
  attrKinds: { epsilon: 'float' },
  infer: ([x]) => {
    requireFloat('SkipSimplifiedLayerNormalization', x!);
    const info = { dtype: x!.dtype, shape: x!.shape };
    // Outputs: normalized, mean and inv_std_var (unused, left unnamed-dead), input + skip.
    return [info, { dtype: 'float32', shape: [] }, { dtype: 'float32', shape: [] }, info];
  },
});

/**
 * com.microsoft.SkipSimplifiedLayerNormalization: sum = x + skip, normalized = RMSNorm(sum) * scale.
 * Returns both: the sum is the residual stream the next block adds to.
 */
export function skipSimplifiedLayerNorm(x: Tensor, skip: Tensor, scale: Tensor, epsilon: number): { normalized: Tensor; sum: Tensor } {
  const [normalized, , , sum] = apply(skipNormOp, [x, skip, scale], { epsilon });
  return { normalized, sum };
}

// Block-quantized weights. Layout shared by both ops: a [N, K] table (a weight's output columns, or an
// embedding's rows) cut along K into blocks of `block_size`, uint8 codes [N, blocks, block_size * bits / 8]
// packed low bits first along K, float32 scales [N, blocks], and w = (code - zero_point) * scale. Without
// a zero_points input the zero point is 2^(bits - 1) (symmetric quantization, as llama.cpp's q8_0/q4_0).

export interface MatMulNBitsAttrs { K: number; N: number; bits: number; block_size: number; accuracy_level: number }

/** com.microsoft.MatMulNBits: A [..., K] float32 times a block-quantized B, giving [..., N]. */
export const matMulNBitsOp = defineOp<MatMulNBitsAttrs>({
  opType: 'MatMulNBits',
  domain: MS,
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

export interface GatherBlockQuantizedAttrs { bits: number; block_size: number; gather_axis: number; quantize_axis: number }

/** com.microsoft.GatherBlockQuantized, uint8 data (the CPU kernel gathers along axis 0 only). */
export const gatherBlockQuantizedOp = defineOp<GatherBlockQuantizedAttrs>({
  opType: 'GatherBlockQuantized',
  domain: MS,
  attrKinds: { bits: 'int', block_size: 'int', gather_axis: 'int', quantize_axis: 'int' },
  infer: ([data, indices, scales], attrs) => {
    const d = data!;
    requireDType('GatherBlockQuantized', d, 'uint8', 'data');
    if (indices!.dtype !== 'int64' && indices!.dtype !== 'int32') throw new ShapeError(`GatherBlockQuantized: indices must be int32 or int64, got ${indices}`);
    if (scales!.rank !== d.rank) throw new ShapeError(`GatherBlockQuantized: scales ${scales} must have the rank of data ${d}`);
    if (attrs.gather_axis !== 0 || attrs.quantize_axis !== d.rank - 1) {
      throw new ShapeError('GatherBlockQuantized: uint8 data gathers along axis 0 and is quantized along its last axis');
    }
    // Codes are packed along the last axis: its logical length is bytes * 8 / bits.
    const last = d.shape[d.rank - 1];
    const logical = typeof last === 'number' ? (last * 8) / attrs.bits : null;
    return [{ dtype: scales!.dtype, shape: [...indices!.shape, ...d.shape.slice(1, -1), logical] }];
  },
});

export interface BlockQuantizedTable {
  /** uint8 [N, blocks, blockSize * bits / 8]. */
  codes: Tensor;
  /** float32 [N, blocks]. */
  scales: Tensor;
  /** uint8 [N, ceil(blocks * bits / 8)], or absent: symmetric, zero point 2^(bits - 1). */
  zeroPoints?: Tensor;
  bits: number;
  blockSize: number;
  /** K: the logical row length (the blocks may pad it). */
  k: number;
}

/** MatMulNBits' inputs and attributes for x [..., K] times the table's transpose (a rewrite pass swaps them into a MatMul node). */
export function matMulNBitsCall(x: Tensor, table: BlockQuantizedTable, accuracyLevel: number): { inputs: Tensor[]; attrs: MatMulNBitsAttrs } {
  const attrs: MatMulNBitsAttrs = { K: table.k, N: table.codes.shape[0] as number, bits: table.bits, block_size: table.blockSize, accuracy_level: accuracyLevel };
  return { inputs: table.zeroPoints ? [x, table.codes, table.scales, table.zeroPoints] : [x, table.codes, table.scales], attrs };
}

/** x [..., K] times the table's transpose. accuracy_level 4 lets the CPU kernel quantize x to int8 per block. */
export function matMulNBits(x: Tensor, table: BlockQuantizedTable, accuracyLevel: number): Tensor {
  const { inputs, attrs } = matMulNBitsCall(x, table, accuracyLevel);
  return apply(matMulNBitsOp, inputs, attrs)[0];
}

/**
 * Rows `indices` of the table, dequantized: [...indices, K] float32. The kernel reads the codes block by
 * block ([N, blocks, block] logically, quantized along the last axis), so the scales go in as
 * [N, blocks, 1], and the result is reshaped to whole rows. K must be a multiple of the block size.
 */
export function gatherBlockQuantized(table: BlockQuantizedTable, indices: Tensor): Tensor {
  const [n, blocks] = table.scales.shape as number[];
  if (table.k !== blocks * table.blockSize) throw new ShapeError(`GatherBlockQuantized: rows of ${table.k} do not fill ${blocks} blocks of ${table.blockSize}`);
  const scales = reshape(table.scales, [n, blocks, 1]);
  const zeroPoints = table.zeroPoints ? reshapeZeroPoints(table, n, blocks) : undefined;
  const attrs: GatherBlockQuantizedAttrs = { bits: table.bits, block_size: table.blockSize, gather_axis: 0, quantize_axis: 2 };
  const blocksOut = apply(gatherBlockQuantizedOp, [table.codes, indices, scales, zeroPoints], attrs)[0];
  return reshape(blocksOut, [...indices.shape.map(() => 0), table.k]);
}

/** MatMulNBits packs the zero points of a row's blocks together; GatherBlockQuantized wants one per block. */
function reshapeZeroPoints(table: BlockQuantizedTable, n: number, blocks: number): Tensor {
  if (table.bits === 8) return reshape(table.zeroPoints!, [n, blocks, 1]);
  throw new ShapeError('GatherBlockQuantized: 4-bit zero points packed per row are not supported here; quantize the table symmetrically');
}
