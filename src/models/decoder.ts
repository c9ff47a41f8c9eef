// The Llama-family decoder (Llama, Llama 3, Qwen2, Mistral), defined once on the graph engine. The
// inference, scoring and training graphs all call decoderForward; they differ only in where the
// weights come from, whether a KV cache flows in and out, and whether LoRA adapters are inputs.
//
// Semantics follow transformers' modeling_llama.py: RMSNorm x * rsqrt(mean(x^2) + eps) * w, rotate_half
// RoPE, grouped-query attention scaled by 1/sqrt(head_dim) under a causal + padding (+ sliding
// window) mask, SwiGLU MLP down(silu(gate(x)) * up(x)), final norm, lm_head (or the tied embedding).
import {
  type Tensor, add, and, cast, concat, cos, dimOf, equal, gather, less, lessOrEqual, matmul, mul, neg,
  range, reciprocal, reduceMean, reshape, sigmoid, sin, slice, softmax, sqrt, squeeze, sub, transpose, unsqueeze, where,
} from '../onnx';
import type { DecoderConfig } from './config';
import { dropoutMaskLike } from './dropout';
import { frozenLinear } from './frozen-linear';
import { f32ToF16Bits } from './half';
import { ropeInvFreq } from './rope';

/**
 * Graph tensors of the checkpoint's weights, by Hugging Face name. Projection matrices come
 * transposed ([in, out]) so MatMul reads them directly: a Transpose node on a weight would make ONNX
 * Runtime fold a second copy of it at load time.
 */
export interface WeightSource {
  /** A tensor in the checkpoint's own layout (norms, biases, an untied embedding). */
  (name: string): Tensor;
  /** A [out, in] matrix as [in, out]. */
  transposed(name: string): Tensor;
}

/** One adapted projection in the graph: y += scale * ((x * dropoutMask) A^T) B^T. */
export interface LoraModuleTensors {
  a: Tensor;
  b: Tensor;
  /** Inverted-dropout mask broadcastable to the projection's input; training only. */
  dropoutMask?: Tensor;
  /** Draw the mask inside the graph instead (ignored when dropoutMask is given). */
  dropout?: { p: number; seed: number };
}

export interface LoraTensors {
  scale: number;
  /** Keyed by HF module path, e.g. `model.layers.0.self_attn.q_proj`. */
  modules: Map<string, LoraModuleTensors>;
}

export interface KvTensors {
  key: Tensor;
  value: Tensor;
}

export interface DecoderInputs {
  /** int64 [batch, seq]. */
  inputIds: Tensor;
  /** int64 [batch, past + seq]: 1 for real tokens, 0 for padding. */
  attentionMask: Tensor;
  /** int64 [batch, seq]: each token's position, counting only real tokens. */
  positionIds: Tensor;
  /** Per layer, [batch, kv_heads, past, head_dim]; absent for a full-sequence pass. */
  past?: KvTensors[];
  lora?: LoraTensors;
  /** int64 scalar: logits for only the last N positions (0 keeps all); absent: every position. */
  numLogitsToKeep?: Tensor;
  /**
   * float [batch]: multiplies each row's logits (1 / its sampling temperature). Applied to the final
   * hidden state, which is the same since the output projection is linear without a bias, and adds
   * a [batch, seq, hidden] product instead of a [batch, seq, vocab] one (and its gradient).
   */
  logitScale?: Tensor;
}

export interface DecoderOutputs {
  /** float [batch, seq, vocab]. */
  logits: Tensor;
  /** Per layer, the cache including this step: [batch, kv_heads, past + seq, head_dim]. */
  present: KvTensors[];
}

/**
 * The additive mask for a disallowed key: the dtype's lowest finite value, as transformers masks with,
 * so fully padded rows stay NaN-free.
 */
export function maskedValue(dtype: Tensor['dtype']): number {
  return dtype === 'float16' ? -65504 : -3.4028234663852886e38;
}

/** A scalar constant of any float dtype (the engine builds float16 constants only from bit patterns). */
function scalarOf(graph: Tensor['graph'], dtype: Tensor['dtype'], value: number): Tensor {
  return graph.constant(dtype, [], dtype === 'float16' ? Uint16Array.of(f32ToF16Bits(value)) : [value]);
}

/**
 * float16 graphs normalize, build RoPE tables and take softmax in float32, as transformers does:
 * mean(x^2) overflows float16 past |x| = 256, a position times inv_freq loses whole radians, and a
 * masked score plus the float16 mask value overflows to -inf.
 */
export function accumulationType(dtype: Tensor['dtype']): Tensor['dtype'] {
  return dtype === 'float16' ? 'float32' : dtype;
}

/** y = x W^T (+ b) (+ the module's LoRA adapter). */
export function linear(x: Tensor, weight: WeightSource, module: string, withBias: boolean, lora?: LoraTensors): Tensor {
  let y = frozenLinear(x, weight.transposed(`${module}.weight`));
  if (withBias) y = add(y, weight(`${module}.bias`));
  const adapter = lora?.modules.get(module);
  if (adapter && lora) {
    const mask = adapter.dropoutMask ?? (adapter.dropout ? dropoutMaskLike(x, adapter.dropout.p, adapter.dropout.seed) : undefined);
    const input = mask ? mul(x, mask) : x;
    const down = matmul(input, transpose(adapter.a, [1, 0]));
    y = add(y, mul(matmul(down, transpose(adapter.b, [1, 0])), lora.scale));
  }
  return y;
}

function rmsNorm(x: Tensor, w: Tensor, eps: number): Tensor {
  const wide = cast(x, accumulationType(x.dtype));
  const variance = reduceMean(mul(wide, wide), [-1], true);
  return mul(cast(mul(wide, reciprocal(sqrt(add(variance, eps)))), x.dtype), w);
}

function rotateHalf(x: Tensor, headDim: number): Tensor {
  const axis = x.rank - 1;
  const half = headDim / 2;
  const first = slice(x, [0], [half], [axis]);
  const second = slice(x, [half], [headDim], [axis]);
  return concat([neg(second), first], axis);
}

/** cos and sin of position * inv_freq, [batch, seq, head_dim] (the two halves repeat, as in HF). */
function ropeTables(config: DecoderConfig, positionIds: Tensor, dtype: Tensor['dtype']): { cos: Tensor; sin: Tensor } {
  const graph = positionIds.graph;
  const wide = accumulationType(dtype);
  const invFreq = graph.constant(wide, [config.headDim / 2], Array.from(ropeInvFreq(config)));
  const freqs = mul(unsqueeze(cast(positionIds, wide), [2]), invFreq);
  const emb = concat([freqs, freqs], 2);
  return { cos: cast(cos(emb), dtype), sin: cast(sin(emb), dtype) };
}

function applyRope(x: Tensor, cos: Tensor, sin: Tensor, headDim: number): Tensor {
  return add(mul(x, cos), mul(rotateHalf(x, headDim), sin));
}

/** Which keys each query may attend, bool [batch, 1, 1, seq, past + seq]: causal, not padding, in the window. */
export function allowedKeys(config: DecoderConfig, inputIds: Tensor, attentionMask: Tensor): Tensor {
  const graph = inputIds.graph;
  const total = squeeze(dimOf(attentionMask, 1), [0]);
  const seq = squeeze(dimOf(inputIds, 1), [0]);
  const keys = unsqueeze(range(graph.constant('int64', [], [0]), total), [0]); // [1, T]
  const queries = unsqueeze(range(sub(total, seq), total), [1]); // [S, 1]: absolute index in the cache
  let allowed = lessOrEqual(keys, queries); // [S, T]
  if (config.slidingWindow !== null) allowed = and(allowed, less(sub(queries, keys), config.slidingWindow));
  const real = unsqueeze(equal(attentionMask, 1), [1, 2, 3]); // [B, 1, 1, 1, T]
  return and(allowed, real);
}

/** Additive attention bias: 0 where `keep`, the dtype's masked value elsewhere. */
export function additiveMask(keep: Tensor, dtype: Tensor['dtype']): Tensor {
  const graph = keep.graph;
  return where(keep, scalarOf(graph, dtype, 0), scalarOf(graph, dtype, maskedValue(dtype)));
}

interface LayerContext {
  config: DecoderConfig;
  weight: WeightSource;
  lora?: LoraTensors;
  cos: Tensor;
  sin: Tensor;
  bias: Tensor;
}

function attention(ctx: LayerContext, x: Tensor, prefix: string, past?: KvTensors): { out: Tensor; present: KvTensors } {
  const { config, weight, lora } = ctx;
  const { numHeads: nh, numKvHeads: nkv, headDim: hd } = config;
  const group = nh / nkv;
  const proj = (name: string) => linear(x, weight, `${prefix}.self_attn.${name}`, config.qkvBias, lora);
  // Query head h reads kv head floor(h / group) (repeat_kv); grouping q as [B, kv, group, S, hd]
  // lets one broadcasting MatMul serve every group without copying keys and values.
  let q = transpose(reshape(proj('q_proj'), [0, 0, nkv, group, hd]), [0, 2, 3, 1, 4]);
  let k = transpose(reshape(proj('k_proj'), [0, 0, nkv, hd]), [0, 2, 1, 3]);
  const v0 = transpose(reshape(proj('v_proj'), [0, 0, nkv, hd]), [0, 2, 1, 3]);
  q = applyRope(q, unsqueeze(ctx.cos, [1, 2]), unsqueeze(ctx.sin, [1, 2]), hd);
  k = applyRope(k, unsqueeze(ctx.cos, [1]), unsqueeze(ctx.sin, [1]), hd);
  const key = past ? concat([past.key, k], 2) : k;
  const value = past ? concat([past.value, v0], 2) : v0;
  const scores = matmul(mul(q, scalarOf(q.graph, q.dtype, 1 / Math.sqrt(hd))), unsqueeze(transpose(key, [0, 1, 3, 2]), [2]));
  const probs = cast(softmax(add(cast(scores, ctx.bias.dtype), ctx.bias), -1), scores.dtype);
  const mixed = matmul(probs, unsqueeze(value, [2])); // [B, kv, group, S, hd]
  const merged = reshape(transpose(mixed, [0, 3, 1, 2, 4]), [0, 0, nh * hd]);
  const out = linear(merged, weight, `${prefix}.self_attn.o_proj`, config.oBias, lora);
  return { out, present: { key, value } };
}

function mlp(ctx: LayerContext, x: Tensor, prefix: string): Tensor {
  const { config, weight, lora } = ctx;
  const gate = linear(x, weight, `${prefix}.mlp.gate_proj`, config.mlpBias, lora);
  const up = linear(x, weight, `${prefix}.mlp.up_proj`, config.mlpBias, lora);
  return linear(mul(mul(gate, sigmoid(gate)), up), weight, `${prefix}.mlp.down_proj`, config.mlpBias, lora);
}

/** Token embeddings [batch, seq, hidden]. */
export function embedTokens(config: DecoderConfig, weight: WeightSource, inputIds: Tensor): Tensor {
  // A tied embedding is stored once, as the lm_head's [hidden, vocab]; the lookup gathers its columns.
  if (config.tieWordEmbeddings) return transpose(gather(weight.transposed('model.embed_tokens.weight'), inputIds, 1), [1, 2, 0]);
  return gather(weight('model.embed_tokens.weight'), inputIds, 0);
}

/** The output projection [hidden, vocab]: lm_head, or the tied embedding. */
export function lmHead(config: DecoderConfig, weight: WeightSource): Tensor {
  return config.tieWordEmbeddings ? weight.transposed('model.embed_tokens.weight') : weight.transposed('lm_head.weight');
}

/** The last `keep` positions of x [batch, seq, ...]; keep = 0 keeps all of them. */
export function lastPositions(x: Tensor, keep: Tensor): Tensor {
  return slice(x, unsqueeze(sub(x.graph.constant('int64', [], [0]), keep), [0]), [2 ** 62], [1]);
}

/** The decoder's forward pass from token ids to logits, and the per-layer KV cache. */
export function decoderForward(config: DecoderConfig, weight: WeightSource, inputs: DecoderInputs): DecoderOutputs {
  if (inputs.past && inputs.past.length !== config.numLayers) {
    throw new Error(`decoderForward: ${inputs.past.length} past key/value pairs for ${config.numLayers} layers`);
  }
  let h = embedTokens(config, weight, inputs.inputIds);
  const dtype = h.dtype;
  const { cos, sin } = ropeTables(config, inputs.positionIds, dtype);
  const bias = additiveMask(allowedKeys(config, inputs.inputIds, inputs.attentionMask), accumulationType(dtype));
  const ctx: LayerContext = { config, weight, lora: inputs.lora, cos, sin, bias };
  const present: KvTensors[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    const prefix = `model.layers.${l}`;
    const attn = attention(ctx, rmsNorm(h, weight(`${prefix}.input_layernorm.weight`), config.rmsNormEps), prefix, inputs.past?.[l]);
    h = add(h, attn.out);
    present.push(attn.present);
    h = add(h, mlp(ctx, rmsNorm(h, weight(`${prefix}.post_attention_layernorm.weight`), config.rmsNormEps), prefix));
  }
  if (inputs.numLogitsToKeep) h = lastPositions(h, inputs.numLogitsToKeep);
  h = rmsNorm(h, weight('model.norm.weight'), config.rmsNormEps);
  if (inputs.logitScale) h = mul(h, unsqueeze(inputs.logitScale, [1, 2]));
  return { logits: frozenLinear(h, lmHead(config, weight)), present };
}
