// Shared set-up for the decoder graph tests: tiny random models of every variant, as both a
// float64 reference weight map and the float32 WeightMap our graphs take, plus small run helpers.
import { openCheckpoint } from '../../../src/models/checkpoint';
import { parseDecoderConfig, type DecoderConfig } from '../../../src/models/config';
import type { WeightMap } from '../../../src/models/graphs';
import { decoderTensorLayout } from '../../../src/models/weights-layout';
import { initLoraAdapter, loraScale, type LoraAdapter, type LoraConfig } from '../../../src/models/lora';
import { seededRandom } from '../../../src/base/seeded-random';
import { createSession, type Session, type Graph } from '../../../src/onnx';
import type { RefLora, RefWeights } from '../../reference/decoder-ref';
import { randomWeights, tinyConfigs } from '../../reference/random-weights';

export interface TinyModel {
  name: string;
  raw: Record<string, any>;
  config: DecoderConfig;
  ref: RefWeights;
  weights: WeightMap;
}

export function toWeightMap(ref: RefWeights): WeightMap {
  return new Map([...ref].map(([name, t]) => [name, Float32Array.from(t.data)]));
}

export function tinyModel(name: keyof typeof tinyConfigs | string, seed = 11, overrides: Record<string, any> = {}): TinyModel {
  const raw = { ...tinyConfigs[name], ...overrides };
  const ref = randomWeights(raw, seed);
  return { name, raw, config: parseDecoderConfig(raw), ref, weights: toWeightMap(ref) };
}

export const variantNames = Object.keys(tinyConfigs);

export async function sessionOf(graph: Graph): Promise<Session> {
  const { serialize } = await import('../../../src/onnx');
  return createSession(serialize(graph), { device: 'cpu', intraOpThreads: 1 });
}

export const i64 = (values: number[], dims: number[]) => ({ dtype: 'int64' as const, data: values, dims });

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Position ids HF generation uses for left padding: count of real tokens before, pads at 1. */
export function positionsFor(mask: number[]): number[] {
  let seen = 0;
  return mask.map((m) => (m ? seen++ : 1));
}

/** A model folder's config and weights as the float64 reference takes them, plus its stop tokens. */
export async function referenceFromFolder(dir: string): Promise<{ raw: Record<string, any>; ref: RefWeights; eos: number[] }> {
  const ckpt = await openCheckpoint(dir);
  try {
    const ref: RefWeights = new Map();
    for (const slot of decoderTensorLayout(ckpt.config)) {
      ref.set(slot.name, { data: Float64Array.from(await ckpt.weights.readFloat32(slot.name)), shape: slot.shape });
    }
    const gen = ckpt.generationConfig?.eos_token_id;
    const eos = gen === undefined ? ckpt.config.eosTokenIds : ([] as number[]).concat(gen as number | number[]);
    return { raw: ckpt.config.raw, ref, eos };
  } finally {
    await ckpt.close();
  }
}

/** A trained-looking adapter: B filled with random values instead of zeros. */
export function busyAdapter(model: DecoderConfig, config: LoraConfig, seed: number, spread = 0.3): LoraAdapter {
  const adapter = initLoraAdapter(model, config, seed);
  const rand = seededRandom(seed + 1);
  for (const pair of adapter.pairs) for (let i = 0; i < pair.b.length; i++) pair.b[i] = (2 * rand() - 1) * spread;
  return adapter;
}

export function refLora(adapter: LoraAdapter): RefLora {
  const modules = new Map(adapter.pairs.map((p) => [p.module, {
    a: { data: Float64Array.from(p.a), shape: [adapter.config.rank, p.inFeatures] },
    b: { data: Float64Array.from(p.b), shape: [p.outFeatures, adapter.config.rank] },
  }]));
  return { scale: loraScale(adapter.config), modules };
}
