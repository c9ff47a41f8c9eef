// config.json of a Hugging Face decoder checkpoint, normalized to the one shape our graphs use.
import { readModelText } from './model-file';

export const SUPPORTED_MODEL_TYPES = ['llama', 'qwen2', 'mistral'] as const;
export type ModelType = (typeof SUPPORTED_MODEL_TYPES)[number];

/** Llama 3's frequency-dependent RoPE rescaling (HF `rope_type: "llama3"`). */
export interface Llama3RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}
/** Position interpolation: every inverse frequency divided by `factor`. */
export interface LinearRopeScaling {
  type: 'linear';
  factor: number;
}
export type RopeScaling = Llama3RopeScaling | LinearRopeScaling;

export interface DecoderConfig {
  modelType: ModelType;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  /** Equals numHeads for multi-head attention; fewer for grouped-query attention. */
  numKvHeads: number;
  headDim: number;
  ropeTheta: number;
  ropeScaling: RopeScaling | null;
  rmsNormEps: number;
  tieWordEmbeddings: boolean;
  /** q_proj, k_proj and v_proj carry a bias (always for qwen2; llama with attention_bias). */
  qkvBias: boolean;
  /** o_proj carries a bias (llama with attention_bias). */
  oBias: boolean;
  /** gate/up/down projections carry a bias (llama with mlp_bias). */
  mlpBias: boolean;
  maxPositionEmbeddings: number;
  /** Mistral (and qwen2 with use_sliding_window) attend only this many positions back; null: full. */
  slidingWindow: number | null;
  bosTokenId: number | null;
  /** Every token id that ends generation; HF allows an int or a list. */
  eosTokenIds: number[];
  padTokenId: number | null;
  /** The parsed config.json as read, for fields we pass through unchanged (e.g. to export). */
  raw: Record<string, unknown>;
}

/** config.json is missing, malformed, or describes a model we do not support. */
export class ModelConfigError extends Error {
  override name = 'ModelConfigError';
}

type Json = Record<string, unknown>;

/**
 * Upper bounds of the size fields, checked before anything is sized from them: a damaged or hostile
 * config.json (num_hidden_layers: 1e9) would otherwise allocate until memory runs out. Each is well
 * above the largest published checkpoints (Llama 3.1 405B: 126 layers, hidden 16384, intermediate
 * 53248, 128 heads; vocabularies up to 262144; contexts up to 10M). Listed in docs/limits.md.
 */
export const CONFIG_LIMITS: Readonly<Record<string, number>> = {
  num_hidden_layers: 1024,
  hidden_size: 65536,
  intermediate_size: 262144,
  num_attention_heads: 1024,
  num_key_value_heads: 1024,
  head_dim: 1024,
  vocab_size: 4194304,
  max_position_embeddings: 16777216,
  sliding_window: 16777216,
  original_max_position_embeddings: 16777216,
  /** Token ids (bos, eos, pad) are int32 in every runtime we feed. */
  token_id: 2147483647,
};

function field(raw: Json, key: string): unknown {
  return raw[key];
}

function aboveLimit(key: string, value: unknown, limit: number): ModelConfigError {
  return new ModelConfigError(`config.json: "${key}" is ${JSON.stringify(value)}, above the limit of ${limit} (a damaged or hostile config.json?).`);
}

function positiveInt(raw: Json, key: string, fallback?: number): number {
  const value = field(raw, key) ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ModelConfigError(`config.json: "${key}" must be a positive integer, got ${JSON.stringify(value)}.`);
  }
  const limit = CONFIG_LIMITS[key];
  if (limit !== undefined && value > limit) throw aboveLimit(key, value, limit);
  return value;
}

function positiveNumber(raw: Json, key: string, fallback?: number): number {
  const value = field(raw, key) ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ModelConfigError(`config.json: "${key}" must be a positive number, got ${JSON.stringify(value)}.`);
  }
  return value;
}

function flag(raw: Json, key: string, fallback: boolean): boolean {
  const value = field(raw, key);
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') throw new ModelConfigError(`config.json: "${key}" must be true or false, got ${JSON.stringify(value)}.`);
  return value;
}

function tokenIds(raw: Json, key: string): number[] {
  const value = field(raw, key);
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  for (const id of list) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new ModelConfigError(`config.json: "${key}" must be a token id or a list of them, got ${JSON.stringify(value)}.`);
    }
    if (id > CONFIG_LIMITS.token_id) throw aboveLimit(key, value, CONFIG_LIMITS.token_id);
  }
  if (list.length > 1024) throw aboveLimit(`${key} (count)`, list.length, 1024);
  return list as number[];
}

function parseRopeScaling(raw: Json): RopeScaling | null {
  const value = field(raw, 'rope_scaling');
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ModelConfigError(`config.json: "rope_scaling" must be an object, got ${JSON.stringify(value)}.`);
  }
  const scaling = value as Json;
  // Newer configs say rope_type, older ones type; "default" means no scaling.
  const type = scaling.rope_type ?? scaling.type;
  if (type === 'default') return null;
  if (type === 'linear') return { type, factor: positiveNumber(scaling, 'factor') };
  if (type === 'llama3') {
    const low = positiveNumber(scaling, 'low_freq_factor');
    const high = positiveNumber(scaling, 'high_freq_factor');
    if (high <= low) {
      throw new ModelConfigError(`config.json: rope_scaling.high_freq_factor (${high}) must exceed low_freq_factor (${low}).`);
    }
    return {
      type,
      factor: positiveNumber(scaling, 'factor'),
      lowFreqFactor: low,
      highFreqFactor: high,
      originalMaxPositionEmbeddings: positiveInt(scaling, 'original_max_position_embeddings'),
    };
  }
  throw new ModelConfigError(`config.json: rope_scaling type ${JSON.stringify(type)} is not supported (supported: llama3, linear).`);
}

function slidingWindow(raw: Json, modelType: ModelType): number | null {
  if (raw.sliding_window === undefined || raw.sliding_window === null) return null;
  if (modelType === 'llama') return null;
  if (modelType === 'qwen2' && raw.use_sliding_window !== true) return null;
  return positiveInt(raw, 'sliding_window');
}

/**
 * Only the size limits, for a config.json we otherwise do not interpret (a ready transformers.js
 * folder, whose loader sizes its cache from num_hidden_layers). Present fields must be within
 * CONFIG_LIMITS; the text_config of multimodal configs is checked too.
 */
export function checkConfigLimits(raw: Json): void {
  for (const scope of [raw, raw.text_config]) {
    if (typeof scope !== 'object' || scope === null) continue;
    for (const [key, limit] of Object.entries(CONFIG_LIMITS)) {
      const value = (scope as Json)[key];
      if (typeof value === 'number' && !(value <= limit)) throw aboveLimit(key, value, limit);
    }
  }
}

/** Validates and normalizes a parsed config.json. */
export function parseDecoderConfig(json: unknown): DecoderConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ModelConfigError('config.json must hold a JSON object.');
  }
  const raw = json as Json;
  const modelType = raw.model_type;
  if (!SUPPORTED_MODEL_TYPES.includes(modelType as ModelType)) {
    const archs = Array.isArray(raw.architectures) ? ` (${raw.architectures.join(', ')})` : '';
    throw new ModelConfigError(
      `Unsupported model_type ${JSON.stringify(modelType)}${archs}; supported: ${SUPPORTED_MODEL_TYPES.join(', ')}.`,
    );
  }
  const hiddenSize = positiveInt(raw, 'hidden_size');
  const numHeads = positiveInt(raw, 'num_attention_heads');
  const numKvHeads = positiveInt(raw, 'num_key_value_heads', numHeads);
  if (numHeads % numKvHeads !== 0) {
    throw new ModelConfigError(`config.json: num_attention_heads (${numHeads}) must be a multiple of num_key_value_heads (${numKvHeads}).`);
  }
  const headDimGiven = raw.head_dim !== undefined && raw.head_dim !== null;
  if (!headDimGiven && hiddenSize % numHeads !== 0) {
    throw new ModelConfigError(`config.json: hidden_size (${hiddenSize}) is not divisible by num_attention_heads (${numHeads}) and no head_dim is given.`);
  }
  const headDim = headDimGiven ? positiveInt(raw, 'head_dim') : hiddenSize / numHeads;
  if (headDim % 2 !== 0) throw new ModelConfigError(`config.json: head_dim must be even for rotary embeddings, got ${headDim}.`);
  const attentionBias = flag(raw, 'attention_bias', false);
  const eos = tokenIds(raw, 'eos_token_id');
  const bos = tokenIds(raw, 'bos_token_id');
  const pad = tokenIds(raw, 'pad_token_id');
  const act = raw.hidden_act ?? 'silu';
  if (act !== 'silu') throw new ModelConfigError(`config.json: hidden_act ${JSON.stringify(act)} is not supported (only silu).`);
  return {
    modelType: modelType as ModelType,
    vocabSize: positiveInt(raw, 'vocab_size'),
    hiddenSize,
    intermediateSize: positiveInt(raw, 'intermediate_size'),
    numLayers: positiveInt(raw, 'num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    ropeTheta: positiveNumber(raw, 'rope_theta', 10000),
    ropeScaling: parseRopeScaling(raw),
    rmsNormEps: positiveNumber(raw, 'rms_norm_eps', 1e-6),
    // The llama, qwen2 and mistral config classes all default to untied; Qwen2.5's small models say true.
    tieWordEmbeddings: flag(raw, 'tie_word_embeddings', false),
    qkvBias: modelType === 'qwen2' || attentionBias,
    oBias: modelType === 'llama' && attentionBias,
    mlpBias: modelType === 'llama' && flag(raw, 'mlp_bias', false),
    maxPositionEmbeddings: positiveInt(raw, 'max_position_embeddings', 2048),
    slidingWindow: slidingWindow(raw, modelType as ModelType),
    bosTokenId: bos[0] ?? null,
    eosTokenIds: eos,
    padTokenId: pad[0] ?? null,
    raw,
  };
}

/** Reads and parses a config.json file. */
export function readDecoderConfig(path: string): DecoderConfig {
  let text: string;
  try {
    text = readModelText(path);
  } catch (err) {
    throw new ModelConfigError(`Cannot read ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ModelConfigError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  return parseDecoderConfig(json);
}
