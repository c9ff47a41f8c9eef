// Seeded random weights under Hugging Face tensor names, for reference checks that must not depend
// on the fixture writer. Values are rounded to float32 so an fp32 graph and the float64 reference
// start from identical numbers.
import { seededRandom } from '../../src/base/seeded-random';
import type { RefTensor, RefWeights } from './decoder-ref';

function tensor(shape: number[], rand: () => number, center: number, spread: number): RefTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.fround(center + (2 * rand() - 1) * spread);
  return { data, shape };
}

/** Every tensor a HF config.json dictionary implies, with spreads that keep activations O(1). */
export function randomWeights(config: Record<string, any>, seed: number): RefWeights {
  const rand = seededRandom(seed);
  const H = config.hidden_size;
  const nh = config.num_attention_heads;
  const nkv = config.num_key_value_heads ?? nh;
  const hd = config.head_dim ?? H / nh;
  const I = config.intermediate_size;
  const V = config.vocab_size;
  const w: RefWeights = new Map();
  const lin = (name: string, out: number, inp: number, bias = false) => {
    w.set(`${name}.weight`, tensor([out, inp], rand, 0, Math.sqrt(3 / inp)));
    if (bias) w.set(`${name}.bias`, tensor([out], rand, 0, 0.2));
  };
  w.set('model.embed_tokens.weight', tensor([V, H], rand, 0, 1));
  const qkvBias = config.model_type === 'qwen2' || config.attention_bias === true;
  const oBias = config.model_type === 'llama' && config.attention_bias === true;
  const mlpBias = config.model_type === 'llama' && config.mlp_bias === true;
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    w.set(`${p}.input_layernorm.weight`, tensor([H], rand, 1, 0.2));
    w.set(`${p}.post_attention_layernorm.weight`, tensor([H], rand, 1, 0.2));
    lin(`${p}.self_attn.q_proj`, nh * hd, H, qkvBias);
    lin(`${p}.self_attn.k_proj`, nkv * hd, H, qkvBias);
    lin(`${p}.self_attn.v_proj`, nkv * hd, H, qkvBias);
    lin(`${p}.self_attn.o_proj`, H, nh * hd, oBias);
    lin(`${p}.mlp.gate_proj`, I, H, mlpBias);
    lin(`${p}.mlp.up_proj`, I, H, mlpBias);
    lin(`${p}.mlp.down_proj`, H, I, mlpBias);
  }
  w.set('model.norm.weight', tensor([H], rand, 1, 0.2));
  if (!config.tie_word_embeddings) lin('lm_head', V, H);
  return w;
}

/** Tiny configs of every variant the issue names, as config.json dictionaries. */
export const tinyConfigs: Record<string, Record<string, any>> = {
  llama_gqa: {
    model_type: 'llama', architectures: ['LlamaForCausalLM'], vocab_size: 48, hidden_size: 32, intermediate_size: 48,
    num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, rms_norm_eps: 1e-5, rope_theta: 10000,
    tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2, max_position_embeddings: 128,
  },
  llama3_scaled_mha: {
    model_type: 'llama', architectures: ['LlamaForCausalLM'], vocab_size: 48, hidden_size: 32, intermediate_size: 40,
    num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 4, head_dim: 16, rms_norm_eps: 1e-5,
    rope_theta: 500000, tie_word_embeddings: true, bos_token_id: 1, eos_token_id: [2, 3], max_position_embeddings: 256,
    // original_max_position_embeddings is small so the tiny head_dim spans all three frequency bands.
    rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 },
  },
  llama_linear_rope_all_bias: {
    model_type: 'llama', architectures: ['LlamaForCausalLM'], vocab_size: 48, hidden_size: 24, intermediate_size: 32,
    num_hidden_layers: 1, num_attention_heads: 3, num_key_value_heads: 1, head_dim: 10, rms_norm_eps: 1e-5, rope_theta: 10000,
    attention_bias: true, mlp_bias: true, tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2,
    rope_scaling: { type: 'linear', factor: 2 },
  },
  qwen2_bias_tied: {
    model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], vocab_size: 48, hidden_size: 32, intermediate_size: 64,
    num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 1, rms_norm_eps: 1e-6, rope_theta: 1000000,
    tie_word_embeddings: true, use_sliding_window: false, bos_token_id: 1, eos_token_id: 2, max_position_embeddings: 128,
  },
  mistral_gqa: {
    model_type: 'mistral', architectures: ['MistralForCausalLM'], vocab_size: 48, hidden_size: 32, intermediate_size: 48,
    num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, rms_norm_eps: 1e-5, rope_theta: 10000,
    tie_word_embeddings: false, sliding_window: 6, bos_token_id: 1, eos_token_id: 2, max_position_embeddings: 128,
  },
};
