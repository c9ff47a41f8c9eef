// `slhf export-onnx`: a Hugging Face model folder (plus an optional LoRA adapter, merged in) becomes a
// folder transformers.js loads offline: config.json, generation_config.json, tokenizer files and
// onnx/model{suffix}.onnx with its weights in onnx/model{suffix}.onnx_data, where the suffix is
// transformers.js's name for the weight type (none for float32, _fp16, _q4, _quantized).
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { saveModel } from '../onnx';
import { openCheckpoint, type Checkpoint } from './checkpoint';
import type { DecoderConfig } from './config';
import { buildContribInferenceGraph, contribGraphUnsupported } from './decode-graph';
import { buildInferenceGraph, type WeightMap } from './graphs';
import { loraScale, mergeLoraPair } from './lora';
import { loadPeftAdapter } from './peft';
import { rowMajorTiedTables } from './tied-table';
import { quantizeGraph, type QuantizeOptions } from './quantize';
import { decoderTensorLayout } from './weights-layout';

/** Tokenizer-side files transformers.js reads, copied as they are when present. */
const PASSTHROUGH = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja'];
/** The float32 export's graph and weights (what `from_pretrained(..., { dtype: 'fp32' })` loads). */
export const ONNX_MODEL = 'onnx/model.onnx';
export const ONNX_DATA = 'model.onnx_data';

/** Every weight the config implies, as float32, read one tensor at a time (the single full copy). */
export async function loadDecoderWeights(checkpoint: Checkpoint): Promise<WeightMap> {
  const weights: WeightMap = new Map();
  for (const slot of decoderTensorLayout(checkpoint.config)) weights.set(slot.name, await checkpoint.weights.readFloat32(slot.name));
  return weights;
}

/** The weights of a model folder (opened and closed here). */
export async function readDecoderWeights(modelDir: string): Promise<WeightMap> {
  const checkpoint = await openCheckpoint(modelDir);
  try {
    return await loadDecoderWeights(checkpoint);
  } finally {
    await checkpoint.close();
  }
}

/** Merges a PEFT adapter folder into the weights in place: W += (alpha / r) B A. */
export async function mergeAdapterDir(checkpoint: Checkpoint, weights: WeightMap, adapterDir: string): Promise<void> {
  const adapter = await loadPeftAdapter(adapterDir, checkpoint.config);
  const scale = loraScale(adapter.config);
  for (const pair of adapter.pairs) mergeLoraPair(weights.get(`${pair.module}.weight`)!, pair, scale);
}

export type GraphVariant = 'plain' | 'contrib';
export type ExportDType = 'float32' | 'float16';

export interface ExportOptions {
  /** A PEFT adapter folder to merge into the exported weights. */
  lora?: string;
  /**
   * 'plain': standard ONNX ops, the graph training and scoring share. 'contrib': ONNX Runtime's
   * fused contrib ops (GroupQueryAttention, RotaryEmbedding, SkipSimplifiedLayerNormalization), which
   * only ONNX Runtime runs. 'auto': contrib when the model allows it (contribGraphUnsupported), else
   * plain. Default 'plain'; see docs/models-graphs.md for the measured difference.
   */
  graph?: GraphVariant | 'auto';
  /** Weights and KV cache; float16 is meant for GPU providers (ONNX Runtime's CPU runs it through float32 casts, no faster). */
  dtype?: ExportDType;
  /**
   * Weight-only quantization of the float32 projections, head and embedding lookup (MatMulNBits and
   * GatherBlockQuantized, src/models/quantize.ts; defaults: symmetric, block 32, one quantized table
   * for the tied head and the lookup). null: explicitly none.
   */
  quantize?: ExportQuantization | null;
}

export type ExportQuantization = Pick<QuantizeOptions, 'bits' | 'blockSize' | 'symmetric' | 'shared'>;

export interface ExportResult {
  files: string[];
  /** sha256 of the graph and its weights. */
  hash: string;
  /** The transformers.js `dtype` that loads this export ('fp32', 'fp16', 'q4', 'q8'). */
  transformersDType: string;
  graph: GraphVariant;
}

/** transformers.js's dtype key for an export, which names its file (DEFAULT_DTYPE_SUFFIX_MAPPING there). */
export function transformersDType(options: Pick<ExportOptions, 'dtype' | 'quantize'>): string {
  if (options.dtype !== undefined && options.dtype !== 'float32' && options.dtype !== 'float16') {
    throw new Error(`export: dtype ${String(options.dtype)} is not float32 or float16`);
  }
  const half = options.dtype === 'float16';
  if (options.quantize && half) throw new Error('export: quantization applies to float32 graphs; choose dtype float32 or no quantization');
  if (options.quantize) return options.quantize.bits === 4 ? 'q4' : 'q8';
  return half ? 'fp16' : 'fp32';
}

/** onnx/model{suffix}.onnx and its data file name for a transformers.js dtype key. */
export function onnxFileNames(dtype: string): { model: string; data: string } {
  const suffix: Record<string, string> = { fp32: '', fp16: '_fp16', q4: '_q4', q8: '_quantized' };
  if (!(dtype in suffix)) throw new Error(`export: no transformers.js file name for dtype ${dtype}`);
  return { model: `onnx/model${suffix[dtype]}.onnx`, data: `model${suffix[dtype]}.onnx_data` };
}

/**
 * Models at least this large (in parameters) get the CPU default below when an export names no format.
 * Measured (BENCHMARKS.md, "Quantized exports (issue 20)"): on the Qwen2.5-0.5B shape int8 decodes
 * about 2x faster than float32 (CPU time) at a third of the peak RSS; on the 0.8M-parameter built-in
 * model it keeps the held-out fixes and damage but saves only 0.05 ms of CPU per token and no memory,
 * so small models (the built-in one, test fixtures) keep the float32 graph the references check.
 * Block 64 rather than 32: 100 MB less RSS at 0.5B, as fast or faster, the same refinements.
 */
export const QUANTIZE_BY_DEFAULT_FROM_PARAMS = 50_000_000;

/** The CPU default for large models: contrib graph where it applies, int8 symmetric, block 64, one table for head and lookup. */
export const CPU_DEFAULT_FORMAT: Readonly<Pick<ExportOptions, 'graph' | 'quantize'>> = { graph: 'auto', quantize: { bits: 8, blockSize: 64, symmetric: true, shared: 'quantized' } };

export function parameterCount(config: DecoderConfig): number {
  return decoderTensorLayout(config).reduce((sum, slot) => sum + slot.shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * The options an export runs with: as given when they name a graph, dtype or quantization; otherwise
 * (the refiner's cache, `slhf export-onnx` without flags) CPU_DEFAULT_FORMAT for models of at least
 * QUANTIZE_BY_DEFAULT_FROM_PARAMS parameters, the plain float32 graph below.
 */
export function resolveExportOptions(options: ExportOptions, config: DecoderConfig): ExportOptions {
  if (options.graph !== undefined || options.dtype !== undefined || options.quantize !== undefined) return options;
  return parameterCount(config) >= QUANTIZE_BY_DEFAULT_FROM_PARAMS ? { ...options, ...CPU_DEFAULT_FORMAT } : options;
}

/** The variant to build for this model; refuses one it cannot take, before any weight is read. */
function resolveVariant(requested: ExportOptions['graph'], config: DecoderConfig): GraphVariant {
  const variant = requested ?? 'plain';
  if (variant === 'auto') return contribGraphUnsupported(config) ? 'plain' : 'contrib';
  if (variant !== 'plain' && variant !== 'contrib') throw new Error(`export: unknown graph variant ${String(variant)}; use plain, contrib or auto`);
  const unsupported = variant === 'contrib' ? contribGraphUnsupported(config) : null;
  if (unsupported) throw new Error(`export: the contrib graph cannot represent this model (${unsupported}); export with graph 'plain'`);
  return variant;
}

function buildExportGraph(config: DecoderConfig, weights: WeightMap, variant: GraphVariant, options: ExportOptions) {
  const graphOptions = { external: true, consume: true, dtype: options.dtype ?? 'float32' } as const;
  const build = variant === 'contrib' ? buildContribInferenceGraph : buildInferenceGraph;
  const graph = build(config, weights, graphOptions);
  if (options.quantize) quantizeGraph(graph, options.quantize);
  else rowMajorTiedTables(graph);
  return graph;
}

export async function exportOnnx(modelDir: string, outDir: string, requested: ExportOptions = {}): Promise<ExportResult> {
  transformersDType(requested); // refuses impossible combinations before the checkpoint is opened
  const checkpoint = await openCheckpoint(modelDir);
  const options = resolveExportOptions(requested, checkpoint.config);
  const jsDType = transformersDType(options);
  const names = onnxFileNames(jsDType);
  let weights: WeightMap;
  let variant: GraphVariant;
  try {
    variant = resolveVariant(options.graph, checkpoint.config);
    weights = await loadDecoderWeights(checkpoint);
    if (options.lora) await mergeAdapterDir(checkpoint, weights, options.lora);
  } finally {
    await checkpoint.close();
  }
  mkdirSync(join(outDir, 'onnx'), { recursive: true });
  // Weights always go to the external data file: one layout for every size, and past 2 GB it is required.
  const graph = buildExportGraph(checkpoint.config, weights, variant, options);
  const model = await saveModel(graph, join(outDir, names.model), { externalDataFile: names.data });
  const files = [names.model, `onnx/${names.data}`];
  const raw = checkpoint.config.raw;
  // A loader that names no dtype gets the one this folder holds.
  const jsConfig = { ...(raw['transformers.js_config'] as object | undefined), use_external_data_format: true, ...(jsDType === 'fp32' ? {} : { dtype: jsDType }) };
  const config = { ...raw, 'transformers.js_config': jsConfig };
  writeFileSync(join(outDir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  files.push('config.json');
  const generation = checkpoint.generationConfig ?? {
    bos_token_id: checkpoint.config.bosTokenId ?? undefined,
    eos_token_id: checkpoint.config.eosTokenIds.length === 1 ? checkpoint.config.eosTokenIds[0] : checkpoint.config.eosTokenIds,
  };
  writeFileSync(join(outDir, 'generation_config.json'), JSON.stringify(generation, null, 2) + '\n');
  files.push('generation_config.json');
  for (const name of PASSTHROUGH) {
    if (!existsSync(join(modelDir, name))) continue;
    copyFileSync(join(modelDir, name), join(outDir, name));
    files.push(name);
  }
  return { files, hash: model.hash, transformersDType: jsDType, graph: variant };
}
