// LoRA math: which projections carry adapters, their shapes, PEFT's initialization (A random,
// B zero, so a fresh adapter leaves the model unchanged), dropout masks, and merging an adapter into
// the base weights for export. The PEFT file layout lives in peft.ts.
import type { DecoderConfig } from './config';
import { seededRandom } from '../base/seeded-random';

export const LORA_TARGETS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

/** Where each target lives inside `model.layers.N` (HF module names, also PEFT's target_modules). */
export const LORA_TARGET_MODULES: Record<LoraTarget, string> = {
  q: 'self_attn.q_proj',
  k: 'self_attn.k_proj',
  v: 'self_attn.v_proj',
  o: 'self_attn.o_proj',
  gate: 'mlp.gate_proj',
  up: 'mlp.up_proj',
  down: 'mlp.down_proj',
};

export interface LoraConfig {
  rank: number;
  alpha: number;
  /** Probability of zeroing an input feature of an adapter during training; 0 disables it. */
  dropout: number;
  targets: LoraTarget[];
}

/** The paper's HelpSteer2 run: r 64, alpha 128, dropout 0.1 on every projection. */
export const DEFAULT_LORA: LoraConfig = { rank: 64, alpha: 128, dropout: 0.1, targets: [...LORA_TARGETS] };

export class LoraConfigError extends Error {
  override name = 'LoraConfigError';
}

/** Accepts our short names (q, gate) and HF/PEFT module names (q_proj, gate_proj). */
export function parseLoraTarget(name: string): LoraTarget {
  const short = name.replace(/_proj$/, '');
  if ((LORA_TARGETS as readonly string[]).includes(short)) return short as LoraTarget;
  throw new LoraConfigError(`Unknown LoRA target module ${JSON.stringify(name)}; expected one of ${LORA_TARGETS.join(', ')} (or their _proj names).`);
}

export function validateLoraConfig(lora: LoraConfig): LoraConfig {
  if (!Number.isInteger(lora.rank) || lora.rank <= 0) throw new LoraConfigError(`LoRA rank must be a positive integer, got ${lora.rank}.`);
  if (!Number.isFinite(lora.alpha) || lora.alpha <= 0) throw new LoraConfigError(`LoRA alpha must be a positive number, got ${lora.alpha}.`);
  if (!(lora.dropout >= 0 && lora.dropout < 1)) throw new LoraConfigError(`LoRA dropout must be in [0, 1), got ${lora.dropout}.`);
  if (lora.targets.length === 0) throw new LoraConfigError('LoRA needs at least one target module.');
  const targets = lora.targets.map(parseLoraTarget);
  if (new Set(targets).size !== targets.length) throw new LoraConfigError(`LoRA target modules repeat: ${lora.targets.join(', ')}.`);
  return { ...lora, targets };
}

/** PEFT's scaling of the adapter's output (without rsLoRA). */
export function loraScale(lora: LoraConfig): number {
  return lora.alpha / lora.rank;
}

/** `model.layers.3.self_attn.q_proj`: the HF module an adapter belongs to. */
export function loraModulePath(layer: number, target: LoraTarget): string {
  return `model.layers.${layer}.${LORA_TARGET_MODULES[target]}`;
}

/** Input and output features of a target projection. */
export function loraFeatures(config: DecoderConfig, target: LoraTarget): { in: number; out: number } {
  const { hiddenSize: h, intermediateSize: i, numHeads, numKvHeads, headDim } = config;
  switch (target) {
    case 'q': return { in: h, out: numHeads * headDim };
    case 'k':
    case 'v': return { in: h, out: numKvHeads * headDim };
    case 'o': return { in: numHeads * headDim, out: h };
    case 'gate':
    case 'up': return { in: h, out: i };
    case 'down': return { in: i, out: h };
  }
}

/** One adapted projection: delta W = scale * B A, A [rank, in], B [out, rank], row-major. */
export interface LoraPair {
  module: string;
  layer: number;
  target: LoraTarget;
  inFeatures: number;
  outFeatures: number;
  a: Float32Array;
  b: Float32Array;
}

export interface LoraAdapter {
  config: LoraConfig;
  /** In layer order, then target order: the order graph inputs and optimizer state use. */
  pairs: LoraPair[];
}

/** Every (layer, target) pair an adapter covers, with its shapes, in the canonical order. */
export function loraSlots(config: DecoderConfig, lora: LoraConfig): Omit<LoraPair, 'a' | 'b'>[] {
  const slots: Omit<LoraPair, 'a' | 'b'>[] = [];
  for (let layer = 0; layer < config.numLayers; layer++) {
    for (const target of LORA_TARGETS) {
      if (!lora.targets.includes(target)) continue;
      const f = loraFeatures(config, target);
      slots.push({ module: loraModulePath(layer, target), layer, target, inFeatures: f.in, outFeatures: f.out });
    }
  }
  return slots;
}

/**
 * A fresh adapter as PEFT initializes one: A from kaiming_uniform(a=sqrt(5)), which is
 * U(-1/sqrt(in), 1/sqrt(in)), and B zero, so the adapted model starts equal to the base model.
 */
export function initLoraAdapter(config: DecoderConfig, lora: LoraConfig, seed: number): LoraAdapter {
  const valid = validateLoraConfig(lora);
  const rand = seededRandom(seed);
  const pairs = loraSlots(config, valid).map((slot) => {
    const bound = 1 / Math.sqrt(slot.inFeatures);
    const a = new Float32Array(valid.rank * slot.inFeatures);
    for (let i = 0; i < a.length; i++) a[i] = (2 * rand() - 1) * bound;
    return { ...slot, a, b: new Float32Array(slot.outFeatures * valid.rank) };
  });
  return { config: valid, pairs };
}

/** W [out, in] += scale * B A, in place, one output row at a time (no [out, in] temporary). */
export function mergeLoraPair(weight: Float32Array, pair: LoraPair, scale: number): void {
  const { inFeatures: n, outFeatures: m, a, b } = pair;
  const r = a.length / n;
  if (weight.length !== m * n) {
    throw new Error(`LoRA ${pair.module}: base weight has ${weight.length} values, adapter expects [${m}, ${n}].`);
  }
  const row = new Float64Array(n);
  for (let o = 0; o < m; o++) {
    row.fill(0);
    for (let k = 0; k < r; k++) {
      const coef = b[o * r + k];
      if (coef === 0) continue;
      for (let i = 0; i < n; i++) row[i] += coef * a[k * n + i];
    }
    for (let i = 0; i < n; i++) weight[o * n + i] += scale * row[i];
  }
}

/** Inverted-dropout mask: each value 0 with probability p, else 1/(1-p), so expectations match eval. */
export function dropoutMask(size: number, p: number, rand: () => number): Float32Array {
  const mask = new Float32Array(size);
  const keep = 1 / (1 - p);
  for (let i = 0; i < size; i++) mask[i] = rand() < p ? 0 : keep;
  return mask;
}
