// `slhf export-onnx`: a Hugging Face model folder (plus an optional LoRA adapter, merged in) becomes a
// folder transformers.js loads offline: config.json, generation_config.json, tokenizer files and
// onnx/model.onnx with its weights in onnx/model.onnx_data.
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { saveModel } from '../onnx';
import { openCheckpoint, type Checkpoint } from './checkpoint';
import { buildInferenceGraph, type WeightMap } from './graphs';
import { loraScale, mergeLoraPair } from './lora';
import { loadPeftAdapter } from './peft';
import { decoderTensorLayout } from './weights-layout';

/** Tokenizer-side files transformers.js reads, copied as they are when present. */
const PASSTHROUGH = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja'];
export const ONNX_MODEL = 'onnx/model.onnx';
export const ONNX_DATA = 'model.onnx_data';

/** Every weight the config implies, as float32, read one tensor at a time (the single full copy). */
export async function loadDecoderWeights(checkpoint: Checkpoint): Promise<WeightMap> {
  const weights: WeightMap = new Map();
  for (const slot of decoderTensorLayout(checkpoint.config)) weights.set(slot.name, await checkpoint.weights.readFloat32(slot.name));
  return weights;
}

/** Merges a PEFT adapter folder into the weights in place: W += (alpha / r) B A. */
export async function mergeAdapterDir(checkpoint: Checkpoint, weights: WeightMap, adapterDir: string): Promise<void> {
  const adapter = await loadPeftAdapter(adapterDir, checkpoint.config);
  const scale = loraScale(adapter.config);
  for (const pair of adapter.pairs) mergeLoraPair(weights.get(`${pair.module}.weight`)!, pair, scale);
}

export interface ExportOptions {
  /** A PEFT adapter folder to merge into the exported weights. */
  lora?: string;
}

export interface ExportResult {
  files: string[];
  /** sha256 of the graph and its weights. */
  hash: string;
}

export async function exportOnnx(modelDir: string, outDir: string, options: ExportOptions = {}): Promise<ExportResult> {
  const checkpoint = await openCheckpoint(modelDir);
  let weights: WeightMap;
  try {
    weights = await loadDecoderWeights(checkpoint);
    if (options.lora) await mergeAdapterDir(checkpoint, weights, options.lora);
  } finally {
    await checkpoint.close();
  }
  mkdirSync(join(outDir, 'onnx'), { recursive: true });
  // Weights always go to the external data file: one layout for every size, and past 2 GB it is required.
  const graph = buildInferenceGraph(checkpoint.config, weights, { external: true, consume: true });
  const model = await saveModel(graph, join(outDir, ONNX_MODEL), { externalDataFile: ONNX_DATA });
  const files = [ONNX_MODEL, `onnx/${ONNX_DATA}`];
  const raw = checkpoint.config.raw;
  const jsConfig = { ...(raw['transformers.js_config'] as object | undefined), use_external_data_format: true };
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
  return { files, hash: model.hash };
}
