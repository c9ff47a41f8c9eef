// The Hugging Face tensor names and shapes a decoder config implies; the one list that the fixture
// writer produces and the checkpoint loader checks against.
import type { DecoderConfig } from './config';
import type { TensorReader } from './safetensors';

export interface TensorSlot {
  name: string;
  /** Row-major, PyTorch's nn.Linear layout [out, in] for projections. */
  shape: number[];
  /** What the slot holds, so initializers can pick a scale. */
  role: 'embedding' | 'norm' | 'linear' | 'bias';
}

/** Every tensor of the model in file order: embeddings, layers, final norm, then lm_head unless tied. */
export function decoderTensorLayout(config: DecoderConfig): TensorSlot[] {
  const { hiddenSize: h, intermediateSize: m, numHeads, numKvHeads, headDim: d, vocabSize: v } = config;
  const slots: TensorSlot[] = [{ name: 'model.embed_tokens.weight', shape: [v, h], role: 'embedding' }];
  const linear = (name: string, out: number, inp: number, bias: boolean) => {
    slots.push({ name: `${name}.weight`, shape: [out, inp], role: 'linear' });
    if (bias) slots.push({ name: `${name}.bias`, shape: [out], role: 'bias' });
  };
  for (let l = 0; l < config.numLayers; l++) {
    const p = `model.layers.${l}`;
    slots.push({ name: `${p}.input_layernorm.weight`, shape: [h], role: 'norm' });
    linear(`${p}.self_attn.q_proj`, numHeads * d, h, config.qkvBias);
    linear(`${p}.self_attn.k_proj`, numKvHeads * d, h, config.qkvBias);
    linear(`${p}.self_attn.v_proj`, numKvHeads * d, h, config.qkvBias);
    linear(`${p}.self_attn.o_proj`, h, numHeads * d, config.oBias);
    slots.push({ name: `${p}.post_attention_layernorm.weight`, shape: [h], role: 'norm' });
    linear(`${p}.mlp.gate_proj`, m, h, config.mlpBias);
    linear(`${p}.mlp.up_proj`, m, h, config.mlpBias);
    linear(`${p}.mlp.down_proj`, h, m, config.mlpBias);
  }
  slots.push({ name: 'model.norm.weight', shape: [h], role: 'norm' });
  if (!config.tieWordEmbeddings) slots.push({ name: 'lm_head.weight', shape: [v, h], role: 'linear' });
  return slots;
}

/** The weights do not match what config.json describes. */
export class WeightLayoutError extends Error {
  override name = 'WeightLayoutError';
}

/**
 * Checks that every tensor the config implies is present with the right shape and a float dtype.
 * Extra tensors (a redundant lm_head in a tied checkpoint, old rotary inv_freq buffers) are ignored.
 */
export function checkDecoderWeights(config: DecoderConfig, weights: TensorReader): void {
  const problems: string[] = [];
  for (const slot of decoderTensorLayout(config)) {
    if (!weights.has(slot.name)) {
      problems.push(`missing ${slot.name}`);
      continue;
    }
    const info = weights.info(slot.name);
    if (info.shape.join(',') !== slot.shape.join(',')) {
      problems.push(`${slot.name} has shape [${info.shape}] but config.json implies [${slot.shape}]`);
    } else if (info.dtype !== 'F32' && info.dtype !== 'F16' && info.dtype !== 'BF16') {
      problems.push(`${slot.name} is ${info.dtype}; expected F32, F16 or BF16`);
    }
  }
  if (problems.length) {
    const shown = problems.slice(0, 8).join('; ');
    const more = problems.length > 8 ? `; and ${problems.length - 8} more` : '';
    throw new WeightLayoutError(`Weights do not match config.json (${config.modelType}): ${shown}${more}.`);
  }
}
