// An independent float64 reference of the Hugging Face decoder math (LlamaForCausalLM,
// Qwen2ForCausalLM, MistralForCausalLM), written from the semantics of transformers'
// modeling_llama.py / modeling_qwen2.py / modeling_mistral.py. It reads the raw config.json
// dictionary and HF tensor names directly, and shares no code with src/, so that agreement
// between it and our ONNX graphs means something.

export interface RefTensor {
  data: Float64Array;
  shape: number[];
}

export type RefWeights = Map<string, RefTensor>;

/** LoRA on one projection: y += scale * (x A^T) B^T, A [r, in], B [out, r]. */
export interface RefLora {
  scale: number;
  /** Keyed by the HF module path, e.g. `model.layers.0.self_attn.q_proj`. */
  modules: Map<string, { a: RefTensor; b: RefTensor }>;
}

interface Shape {
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  eps: number;
  tied: boolean;
  slidingWindow: number | null;
  invFreq: Float64Array;
}

/** Default RoPE inverse frequencies, then the "linear" or "llama3" rope_scaling adjustment when configured. */
export function refInvFreq(config: Record<string, any>, headDim: number): Float64Array {
  const theta = config.rope_theta ?? 10000;
  const inv = new Float64Array(headDim / 2);
  for (let i = 0; i < inv.length; i++) inv[i] = 1 / Math.pow(theta, (2 * i) / headDim);
  const scaling = config.rope_scaling;
  const type = scaling ? scaling.rope_type ?? scaling.type : undefined;
  if (!scaling || type === 'default') return inv;
  if (type === 'linear') return inv.map((f) => f / scaling.factor);
  if (type !== 'llama3') throw new Error(`reference: rope_scaling type ${type} not modelled`);
  const factor = scaling.factor;
  const low = scaling.low_freq_factor;
  const high = scaling.high_freq_factor;
  const oldCtx = scaling.original_max_position_embeddings;
  const lowWavelen = oldCtx / low;
  const highWavelen = oldCtx / high;
  for (let i = 0; i < inv.length; i++) {
    const wavelen = (2 * Math.PI) / inv[i];
    if (wavelen < highWavelen) continue; // high frequencies are kept
    if (wavelen > lowWavelen) {
      inv[i] = inv[i] / factor; // low frequencies are scaled down
      continue;
    }
    const smooth = (oldCtx / wavelen - low) / (high - low);
    inv[i] = (1 - smooth) * (inv[i] / factor) + smooth * inv[i];
  }
  return inv;
}

function shapeOf(config: Record<string, any>): Shape {
  const hidden = config.hidden_size;
  const heads = config.num_attention_heads;
  const headDim = config.head_dim ?? hidden / heads;
  const type = config.model_type;
  // Mistral slides whenever sliding_window is set. Qwen2's per-layer window (use_sliding_window with
  // max_window_layers) is off in every released Qwen2/2.5 config and is not modelled here.
  if (type === 'qwen2' && config.use_sliding_window) throw new Error('reference: Qwen2 use_sliding_window not modelled');
  const sliding = type === 'mistral' ? config.sliding_window ?? null : null;
  return {
    vocab: config.vocab_size,
    hidden,
    layers: config.num_hidden_layers,
    heads,
    kvHeads: config.num_key_value_heads ?? heads,
    headDim,
    eps: config.rms_norm_eps,
    tied: config.tie_word_embeddings ?? false,
    slidingWindow: sliding,
    invFreq: refInvFreq(config, headDim),
  };
}

function get(weights: RefWeights, name: string): RefTensor {
  const t = weights.get(name);
  if (!t) throw new Error(`reference: missing weight ${name}`);
  return t;
}

/** x [T, in] times W^T with W [out, in] (the nn.Linear convention), plus optional bias and LoRA. */
function linear(x: Float64Array, rows: number, weights: RefWeights, module: string, lora?: RefLora): Float64Array {
  const w = get(weights, `${module}.weight`);
  const [out, inp] = w.shape;
  const y = new Float64Array(rows * out);
  for (let t = 0; t < rows; t++) {
    for (let o = 0; o < out; o++) {
      let s = 0;
      for (let i = 0; i < inp; i++) s += x[t * inp + i] * w.data[o * inp + i];
      y[t * out + o] = s;
    }
  }
  const bias = weights.get(`${module}.bias`);
  if (bias) for (let t = 0; t < rows; t++) for (let o = 0; o < out; o++) y[t * out + o] += bias.data[o];
  const adapter = lora?.modules.get(module);
  if (adapter && lora) {
    const r = adapter.a.shape[0];
    for (let t = 0; t < rows; t++) {
      const xa = new Float64Array(r);
      for (let k = 0; k < r; k++) {
        let s = 0;
        for (let i = 0; i < inp; i++) s += x[t * inp + i] * adapter.a.data[k * inp + i];
        xa[k] = s;
      }
      for (let o = 0; o < out; o++) {
        let s = 0;
        for (let k = 0; k < r; k++) s += xa[k] * adapter.b.data[o * r + k];
        y[t * out + o] += lora.scale * s;
      }
    }
  }
  return y;
}

function rmsNorm(x: Float64Array, rows: number, dim: number, w: RefTensor, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let t = 0; t < rows; t++) {
    let ms = 0;
    for (let i = 0; i < dim; i++) ms += x[t * dim + i] ** 2;
    const inv = 1 / Math.sqrt(ms / dim + eps);
    for (let i = 0; i < dim; i++) y[t * dim + i] = x[t * dim + i] * inv * w.data[i];
  }
  return y;
}

/** rotate_half RoPE in place on a [T, nHeads * headDim] projection. */
function rope(x: Float64Array, rows: number, nHeads: number, headDim: number, positions: number[], invFreq: Float64Array): void {
  const half = headDim / 2;
  for (let t = 0; t < rows; t++) {
    for (let h = 0; h < nHeads; h++) {
      const base = t * nHeads * headDim + h * headDim;
      const rotated = new Float64Array(headDim);
      for (let i = 0; i < headDim; i++) {
        const angle = positions[t] * invFreq[i % half];
        const partner = i < half ? -x[base + i + half] : x[base + i - half];
        rotated[i] = x[base + i] * Math.cos(angle) + partner * Math.sin(angle);
      }
      x.set(rotated, base);
    }
  }
}

export interface RefOptions {
  lora?: RefLora;
  /** Position ids of each token; 0..T-1 when absent. */
  positions?: number[];
}

/** Logits [T, vocab] for one unpadded sequence, causal attention over the sequence itself. */
export function refLogits(config: Record<string, any>, weights: RefWeights, ids: number[], options: RefOptions = {}): Float64Array {
  const s = shapeOf(config);
  const T = ids.length;
  const positions = options.positions ?? ids.map((_, i) => i);
  const embed = get(weights, 'model.embed_tokens.weight');
  let h: Float64Array = new Float64Array(T * s.hidden);
  ids.forEach((id, t) => {
    if (!(id >= 0 && id < s.vocab)) throw new Error(`reference: token id ${id} out of range`);
    h.set(embed.data.subarray(id * s.hidden, (id + 1) * s.hidden), t * s.hidden);
  });
  const group = s.heads / s.kvHeads;
  for (let l = 0; l < s.layers; l++) {
    const p = `model.layers.${l}`;
    const x = rmsNorm(h, T, s.hidden, get(weights, `${p}.input_layernorm.weight`), s.eps);
    const q = linear(x, T, weights, `${p}.self_attn.q_proj`, options.lora);
    const k = linear(x, T, weights, `${p}.self_attn.k_proj`, options.lora);
    const v = linear(x, T, weights, `${p}.self_attn.v_proj`, options.lora);
    rope(q, T, s.heads, s.headDim, positions, s.invFreq);
    rope(k, T, s.kvHeads, s.headDim, positions, s.invFreq);
    const attn = new Float64Array(T * s.heads * s.headDim);
    const scale = 1 / Math.sqrt(s.headDim);
    for (let hd = 0; hd < s.heads; hd++) {
      const kvh = Math.floor(hd / group); // repeat_kv: query head hd reads kv head hd / group
      for (let i = 0; i < T; i++) {
        const scores: number[] = [];
        const keys: number[] = [];
        for (let j = 0; j <= i; j++) {
          if (s.slidingWindow !== null && i - j >= s.slidingWindow) continue;
          let dot = 0;
          for (let d = 0; d < s.headDim; d++) {
            dot += q[i * s.heads * s.headDim + hd * s.headDim + d] * k[j * s.kvHeads * s.headDim + kvh * s.headDim + d];
          }
          scores.push(dot * scale);
          keys.push(j);
        }
        const max = Math.max(...scores);
        const exps = scores.map((sc) => Math.exp(sc - max));
        const sum = exps.reduce((a, b) => a + b, 0);
        for (let d = 0; d < s.headDim; d++) {
          let acc = 0;
          keys.forEach((j, n) => {
            acc += (exps[n] / sum) * v[j * s.kvHeads * s.headDim + kvh * s.headDim + d];
          });
          attn[i * s.heads * s.headDim + hd * s.headDim + d] = acc;
        }
      }
    }
    const o = linear(attn, T, weights, `${p}.self_attn.o_proj`, options.lora);
    for (let i = 0; i < h.length; i++) h[i] += o[i];
    const x2 = rmsNorm(h, T, s.hidden, get(weights, `${p}.post_attention_layernorm.weight`), s.eps);
    const gate = linear(x2, T, weights, `${p}.mlp.gate_proj`, options.lora);
    const up = linear(x2, T, weights, `${p}.mlp.up_proj`, options.lora);
    for (let i = 0; i < gate.length; i++) gate[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i]; // silu(gate) * up
    const down = linear(gate, T, weights, `${p}.mlp.down_proj`, options.lora);
    for (let i = 0; i < h.length; i++) h[i] += down[i];
  }
  h = rmsNorm(h, T, s.hidden, get(weights, 'model.norm.weight'), s.eps);
  const headWeights = s.tied ? new Map([['lm_head.weight', embed]]) : weights;
  return linear(h, T, headWeights, 'lm_head');
}

/** log p(ids[t] | ids[<t]) for t = from..T-1, from the reference logits. */
export function refTokenLogProbs(config: Record<string, any>, weights: RefWeights, ids: number[], from: number, options: RefOptions = {}): number[] {
  const logits = refLogits(config, weights, ids, options);
  const V = config.vocab_size;
  const out: number[] = [];
  for (let t = Math.max(from, 1); t < ids.length; t++) {
    const row = logits.subarray((t - 1) * V, t * V);
    const max = Math.max(...row);
    let sum = 0;
    for (const z of row) sum += Math.exp(z - max);
    out.push(row[ids[t]] - max - Math.log(sum));
  }
  return out;
}
