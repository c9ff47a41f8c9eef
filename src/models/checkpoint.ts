// Opens a Hugging Face model folder: config, tokenizer files, chat template, generation config and
// safetensors weights. Pickled PyTorch weights are refused, because unpickling runs code.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkConfigLimits, ModelConfigError, parseDecoderConfig, type DecoderConfig } from './config';
import { MODEL_METADATA_FILES } from './hub';
import { checkModelFile, ModelFileError, readModelText } from './model-file';
import { openSafetensors, SAFETENSORS_INDEX, SAFETENSORS_SINGLE, type TensorReader } from './safetensors';
import { checkDecoderWeights } from './weights-layout';

export type Json = Record<string, unknown>;

export interface Checkpoint {
  dir: string;
  config: DecoderConfig;
  /** Parsed tokenizer.json (the `tokenizers` library's format), or null when the folder has none. */
  tokenizer: Json | null;
  /** Parsed tokenizer_config.json, or {} when absent. */
  tokenizerConfig: Json;
  /** The default Jinja chat template, from tokenizer_config.json or chat_template.jinja. */
  chatTemplate: string | null;
  /** Parsed generation_config.json, or null when absent. */
  generationConfig: Json | null;
  weights: TensorReader;
  close(): Promise<void>;
}

export type CheckpointErrorCode =
  | 'not-a-folder' | 'missing-config' | 'bad-json' | 'bad-config' | 'pickled-weights' | 'no-weights' | 'missing-tokenizer' | 'bad-weights'
  /** Not a regular file (a device, FIFO or folder), or larger than its limit (model-file.ts). */
  | 'bad-file';

/** A model folder cannot be used; `code` says why, the message says what to do. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
  constructor(message: string, readonly code: CheckpointErrorCode) {
    super(message);
  }
}

/** Names Python's torch.load would unpickle. */
export const PICKLE_PATTERN = /\.(bin|pt|pth|ckpt|pkl|pickle)$/i;

/** A model file's text (see model-file.ts), its refusal as a CheckpointError. */
function readText(path: string): string {
  try {
    return readModelText(path);
  } catch (err) {
    if (err instanceof ModelFileError) throw new CheckpointError(err.message, 'bad-file');
    throw err;
  }
}

/** A JSON object file; null when absent, a CheckpointError when it is not a JSON object. */
export function readJson(path: string): Json | null {
  if (!existsSync(path)) return null;
  const text = readText(path);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CheckpointError(`${path} is not valid JSON: ${(err as Error).message}`, 'bad-json');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CheckpointError(`${path} must hold a JSON object.`, 'bad-json');
  }
  return value as Json;
}

/** tokenizer_config.json holds a string, or a list of named templates of which "default" is used. */
export function chatTemplateOf(dir: string, tokenizerConfig: Json): string | null {
  const value = tokenizerConfig.chat_template;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value.find((t) => t && typeof t === 'object' && (t as Json).name === 'default') as Json | undefined;
    if (named && typeof named.template === 'string') return named.template;
  }
  // Newer checkpoints keep the template in its own file.
  const jinja = join(dir, 'chat_template.jinja');
  if (existsSync(jinja)) return readText(jinja);
  const json = readJson(join(dir, 'chat_template.json'));
  return typeof json?.chat_template === 'string' ? json.chat_template : null;
}

/** Fails with a message that explains why pickled weights are refused and what to do instead. */
function refusePickles(dir: string): never {
  const pickles = readdirSync(dir).filter((f) => PICKLE_PATTERN.test(f));
  if (pickles.length) {
    throw new CheckpointError(
      `${dir} has only pickled PyTorch weights (${pickles.slice(0, 3).join(', ')}). Loading pickle files can run ` +
        'arbitrary code, so they are refused. Use a checkpoint that ships model.safetensors, or convert it to safetensors first.',
      'pickled-weights',
    );
  }
  throw new CheckpointError(`${dir} has no weights: expected ${SAFETENSORS_SINGLE} or ${SAFETENSORS_INDEX}.`, 'no-weights');
}

export interface OpenCheckpointOptions {
  /** Fail when tokenizer.json is missing (default true; scoring token ids alone does not need it). */
  requireTokenizer?: boolean;
  /** Check every tensor the config implies is present with the right shape (default true). */
  checkWeights?: boolean;
}

/**
 * Checks, without reading them, the files another loader (transformers.js) reads from a model folder:
 * each present metadata file must be a regular file under its limit, and config.json's size fields
 * within CONFIG_LIMITS. Weights files need only be regular (they are read in pieces).
 */
export function checkModelFolder(dir: string): void {
  try {
    for (const name of [...MODEL_METADATA_FILES, 'chat_template.json', 'preprocessor_config.json', SAFETENSORS_INDEX]) {
      if (existsSync(join(dir, name))) checkModelFile(join(dir, name));
    }
    for (const sub of ['', 'onnx']) {
      if (!existsSync(join(dir, sub))) continue;
      for (const name of readdirSync(join(dir, sub))) {
        if (/\.(safetensors|onnx|onnx_data)$/.test(name)) checkModelFile(join(dir, sub, name), Number.MAX_SAFE_INTEGER);
      }
    }
  } catch (err) {
    if (err instanceof ModelFileError) throw new CheckpointError(err.message, 'bad-file');
    throw err;
  }
  const config = readJson(join(dir, 'config.json'));
  try {
    if (config) checkConfigLimits(config);
  } catch (err) {
    if (err instanceof ModelConfigError) throw new CheckpointError(`${join(dir, 'config.json')}: ${err.message}`, 'bad-config');
    throw err;
  }
}

export async function openCheckpoint(dir: string, options: OpenCheckpointOptions = {}): Promise<Checkpoint> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CheckpointError(`${dir} is not a folder.`, 'not-a-folder');
  // Also the files read later by others (the export copies them, transformers.js loads them).
  checkModelFolder(dir);
  const rawConfig = readJson(join(dir, 'config.json'));
  if (!rawConfig) throw new CheckpointError(`${dir} has no config.json; is it a Hugging Face model folder?`, 'missing-config');
  let config: DecoderConfig;
  try {
    config = parseDecoderConfig(rawConfig);
  } catch (err) {
    if (err instanceof ModelConfigError) throw new CheckpointError(`${join(dir, 'config.json')}: ${err.message}`, 'bad-config');
    throw err;
  }
  const tokenizer = readJson(join(dir, 'tokenizer.json'));
  if (!tokenizer && options.requireTokenizer !== false) {
    throw new CheckpointError(`${dir} has no tokenizer.json (the fast-tokenizer file transformers.js and we need).`, 'missing-tokenizer');
  }
  const tokenizerConfig = readJson(join(dir, 'tokenizer_config.json')) ?? {};
  const chatTemplate = chatTemplateOf(dir, tokenizerConfig);
  const generationConfig = readJson(join(dir, 'generation_config.json'));
  if (!existsSync(join(dir, SAFETENSORS_INDEX)) && !existsSync(join(dir, SAFETENSORS_SINGLE))) refusePickles(dir);
  const weights = await openSafetensors(dir);
  if (options.checkWeights !== false) {
    try {
      checkDecoderWeights(config, weights);
    } catch (err) {
      await weights.close();
      throw new CheckpointError(`${dir}: ${(err as Error).message}`, 'bad-weights');
    }
  }
  return { dir, config, tokenizer, tokenizerConfig, chatTemplate, generationConfig, weights, close: () => weights.close() };
}
