// The inference graph rebuilt on ONNX Runtime's contrib ops, for decoding: the same inputs, outputs
// and KV layout as the plain graph (transformers.js loads either unchanged), plus each pass's new cache
// rows (newRowsName, for the refiner's own cache), the same math, fewer and
// fused kernels. Per layer: one packed q/k/v MatMul, RotaryEmbedding on q and k, GroupQueryAttention
// (appends to the cache, causal softmax), SkipSimplifiedLayerNormalization (residual add + RMSNorm in
// one pass) and one packed gate/up MatMul. Forward only; training and scoring keep the plain graph.
import { Graph, type Tensor, add, cast, dimOf, expand, mul, sigmoid, split, squeeze, sub } from '../onnx';
import { groupQueryAttention, rotaryEmbedding, simplifiedLayerNorm, skipSimplifiedLayerNorm } from '../onnx/contrib';
import type { DecoderConfig } from './config';
import { additiveMask, allowedKeys, embedTokens, lastPositions, linear, lmHead, type KvTensors, type WeightSource } from './decoder';
import { frozenLinear } from './frozen-linear';
import { CACHE_BUFFER_DIM, type GraphWeightOptions, type InferenceInputs, type WeightDType, type WeightMap, inferenceInputs, inferenceOutputs, initializerSource, newRowsName, storedAs } from './graphs';
import { ropeInvFreq } from './rope';
import { decoderTensorLayout } from './weights-layout';

interface Packer {
  /** One MatMul (and bias) for projections that read the same input; returns the parts in order. */
  (x: Tensor, modules: string[], withBias: boolean, packedName: string): Tensor[];
}

/** Concatenates [out_i, in] weights into one [in, sum out_i] initializer, consuming them like initializerSource. */
function packer(graph: Graph, config: DecoderConfig, weights: WeightMap, options: GraphWeightOptions): Packer {
  const shapes = new Map(decoderTensorLayout(config).map((slot) => [slot.name, slot.shape]));
  const dtype = options.dtype ?? 'float32';
  const take = (name: string): { data: Float32Array; shape: number[] } => {
    const data = weights.get(name);
    const shape = shapes.get(name);
    if (!data || !shape) throw new Error(`decoder weights: ${name} is missing`);
    if (options.consume) weights.delete(name);
    return { data, shape };
  };
  const external = { external: options.external ?? false };
  return (x, modules, withBias, packedName) => {
    const parts = modules.map((m) => take(`${m}.weight`));
    const inDim = parts[0].shape[1];
    const outs = parts.map((p) => p.shape[0]);
    const total = outs.reduce((a, b) => a + b, 0);
    const packed = new Float32Array(inDim * total);
    let offset = 0;
    for (const [i, { data }] of parts.entries()) {
      for (let o = 0; o < outs[i]; o++) for (let r = 0; r < inDim; r++) packed[r * total + offset + o] = data[o * inDim + r];
      offset += outs[i];
    }
    let y = frozenLinear(x, graph.initializer(`${packedName}.weight.T`, dtype, [inDim, total], storedAs(packed, dtype), external));
    if (withBias) {
      const bias = new Float32Array(total);
      let at = 0;
      for (const [i, m] of modules.entries()) {
        bias.set(take(`${m}.bias`).data, at);
        at += outs[i];
      }
      y = add(y, graph.initializer(`${packedName}.bias`, dtype, [total], storedAs(bias, dtype), external));
    }
    return split(y, outs, 2);
  };
}

/** cos and sin of position * inv_freq for every position the model supports: [max_position, head_dim / 2]. */
function ropeCaches(graph: Graph, config: DecoderConfig, dtype: Tensor['dtype']): { cos: Tensor; sin: Tensor } {
  const invFreq = ropeInvFreq(config);
  const half = invFreq.length;
  const rows = config.maxPositionEmbeddings;
  const cos = new Float32Array(rows * half);
  const sin = new Float32Array(rows * half);
  for (let p = 0; p < rows; p++) {
    for (let i = 0; i < half; i++) {
      cos[p * half + i] = Math.cos(p * invFreq[i]);
      sin[p * half + i] = Math.sin(p * invFreq[i]);
    }
  }
  return {
    cos: graph.initializer('rope.cos_cache', dtype, [rows, half], storedAs(cos, dtype as WeightDType)),
    sin: graph.initializer('rope.sin_cache', dtype, [rows, half], storedAs(sin, dtype as WeightDType)),
  };
}

/**
 * GroupQueryAttention's per-row lengths, derived from attention_mask so the graph's inputs stay those
 * of transformers.js. The op reads a row's cache as positions [0, seqlens_k], new tokens last, which
 * is the physical layout of a left-padded cache too when every row claims the full length; padding
 * (and Mistral's window) is then masked by the additive bias.
 */
function attentionInputs(config: DecoderConfig, io: InferenceInputs, dtype: Tensor['dtype']): { seqlensK: Tensor; total: Tensor; bias: Tensor } {
  const total = dimOf(io.attentionMask, 1); // int64 [1]
  const seqlensK = cast(expand(sub(total, 1), dimOf(io.attentionMask, 0)), 'int32');
  const bias = additiveMask(squeeze(allowedKeys(config, io.inputIds, io.attentionMask), [1]), dtype); // [B, 1, S, T]
  return { seqlensK, total: cast(squeeze(total, [0]), 'int32'), bias };
}

interface LayerContext {
  config: DecoderConfig;
  weight: WeightSource;
  pack: Packer;
  io: InferenceInputs;
  rope: { cos: Tensor; sin: Tensor };
  attn: { seqlensK: Tensor; total: Tensor; bias: Tensor };
}

function attention(ctx: LayerContext, x: Tensor, prefix: string, past: KvTensors): { out: Tensor; present: KvTensors; rows: KvTensors } {
  const { config, io, rope } = ctx;
  const { numHeads: nh, numKvHeads: nkv } = config;
  const attn = `${prefix}.self_attn`;
  const [q, k, v] = ctx.pack(x, [`${attn}.q_proj`, `${attn}.k_proj`, `${attn}.v_proj`], config.qkvBias, `${attn}.qkv_proj`);
  const key = rotaryEmbedding(k, io.positionIds, rope.cos, rope.sin, nkv);
  const result = groupQueryAttention({
    query: rotaryEmbedding(q, io.positionIds, rope.cos, rope.sin, nh),
    key,
    value: v,
    pastKey: past.key,
    pastValue: past.value,
    seqlensK: ctx.attn.seqlensK,
    totalSequenceLength: ctx.attn.total,
    attentionBias: ctx.attn.bias,
    numHeads: nh,
    kvNumHeads: nkv,
  });
  const out = linear(result.output, ctx.weight, `${attn}.o_proj`, config.oBias);
  return { out, present: { key: result.presentKey, value: result.presentValue }, rows: { key, value: v } };
}

function mlp(ctx: LayerContext, x: Tensor, prefix: string): Tensor {
  const { config } = ctx;
  const [gate, up] = ctx.pack(x, [`${prefix}.mlp.gate_proj`, `${prefix}.mlp.up_proj`], config.mlpBias, `${prefix}.mlp.gate_up_proj`);
  return linear(mul(mul(gate, sigmoid(gate)), up), ctx.weight, `${prefix}.mlp.down_proj`, config.mlpBias);
}

/** Why the contrib graph cannot represent this model, or null when it can. */
export function contribGraphUnsupported(config: DecoderConfig): string | null {
  // ORT's CPU GroupQueryAttention kernel rejects other head sizes at run time.
  if (config.headDim % 8 !== 0) return `GroupQueryAttention needs head_dim to be a multiple of 8, this model has ${config.headDim}`;
  return null;
}

/**
 * The contrib-op inference graph: inputs, outputs and cache layout of buildInferenceGraph, float32 or
 * float16 (ORT's contrib kernels have no float64). No LoRA inputs: export merges adapters first.
 */
export function buildContribInferenceGraph(config: DecoderConfig, weights: WeightMap, options: GraphWeightOptions = {}): Graph {
  const dtype = options.dtype ?? 'float32';
  if (dtype === 'float64') throw new Error('buildContribInferenceGraph: ONNX Runtime\'s contrib kernels take float32 or float16, not float64');
  const unsupported = contribGraphUnsupported(config);
  if (unsupported) throw new Error(`buildContribInferenceGraph: ${unsupported}; use the plain graph`);
  const graph = new Graph('decoder_contrib');
  const io = inferenceInputs(graph, config, dtype, CACHE_BUFFER_DIM);
  const weight = initializerSource(graph, config, weights, options);
  const ctx: LayerContext = {
    config, weight, io,
    pack: packer(graph, config, weights, options),
    rope: ropeCaches(graph, config, dtype),
    attn: attentionInputs(config, io, dtype),
  };
  const eps = config.rmsNormEps;
  const norm = (l: number, which: string) => weight(`model.layers.${l}.${which}.weight`);
  let residual = embedTokens(config, weight, io.inputIds);
  let normed = simplifiedLayerNorm(residual, norm(0, 'input_layernorm'), eps);
  let pending: Tensor | undefined;
  const present: KvTensors[] = [];
  const rows: KvTensors[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    const prefix = `model.layers.${l}`;
    // Each block's output joins the residual stream inside the next norm (SkipSimplifiedLayerNormalization).
    if (pending) ({ normalized: normed, sum: residual } = skipSimplifiedLayerNorm(pending, residual, norm(l, 'input_layernorm'), eps));
    const attn = attention(ctx, normed, prefix, io.past[l]);
    present.push(attn.present);
    rows.push(attn.rows);
    ({ normalized: normed, sum: residual } = skipSimplifiedLayerNorm(attn.out, residual, norm(l, 'post_attention_layernorm'), eps));
    pending = mlp(ctx, normed, prefix);
  }
  // Norm and head for the kept positions only: both act per position.
  const last = skipSimplifiedLayerNorm(lastPositions(pending!, io.numLogitsToKeep), lastPositions(residual, io.numLogitsToKeep), weight('model.norm.weight'), eps);
  inferenceOutputs(graph, frozenLinear(last.normalized, lmHead(config, weight)), present);
  rows.forEach((kv, l) => {
    graph.output(kv.key, newRowsName(l, 'key'));
    graph.output(kv.value, newRowsName(l, 'value'));
  });
  return graph;
}
