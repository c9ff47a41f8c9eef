// Rotary position embedding frequencies, as transformers' modeling_rope_utils computes them
// (default, "linear" and "llama3" rope_scaling), in float64 before the graph stores them.
import type { DecoderConfig } from './config';

/** inv_freq[i] = 1 / theta^(2i / head_dim), adjusted by the configured rope_scaling. */
export function ropeInvFreq(config: Pick<DecoderConfig, 'headDim' | 'ropeTheta' | 'ropeScaling'>): Float64Array {
  const half = config.headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(config.ropeTheta, (2 * i) / config.headDim);
  const scaling = config.ropeScaling;
  if (!scaling) return inv;
  if (scaling.type === 'linear') return inv.map((f) => f / scaling.factor);
  // llama3: wavelengths shorter than original_ctx / high_freq_factor keep their frequency, longer than
  // original_ctx / low_freq_factor are divided by factor, and the band between is blended smoothly.
  const { factor, lowFreqFactor: low, highFreqFactor: high, originalMaxPositionEmbeddings: ctx } = scaling;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < ctx / high) return f;
    if (wavelen > ctx / low) return f / factor;
    const smooth = (ctx / wavelen - low) / (high - low);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}
