// A model SPEC becomes a folder transformers.js can load, in one call (prepareModel): a ready
// transformers.js folder is used as is; a Hugging Face checkpoint (local or from the hub), with an
// optional LoRA adapter merged in, is exported once into the cache, keyed by the content of both plus
// the builder version, so a second start builds nothing. The folder's config.json is read once here
// and handed over with it (the dtype to load, the limits the refiner checks).
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../base/atomic-file';
import { checkModelFolder, PICKLE_PATTERN } from './checkpoint';
import { readModelText } from './model-file';
import { exportOnnx, onnxFileNames } from './export';
import type { HubOptions } from './hub';
import { resolveModelSpec } from './spec';

/** Bump when the exported graphs change in a way cached exports must not survive (it keys the cache). */
export const GRAPH_BUILDER_VERSION = 'decoder-graph-9'; // 9: large quantized weights multiplied in parts; 8: the contrib graph outputs its new cache rows; 7: a logsumexp output (6: a tied table held once; 5: the contrib cache is past_buffer_length)
const MARKER = 'slhf-export.json';

/** A model spec made loadable (not to be confused with src/onnx's ModelSource, a graph to open). */
export interface PreparedModel {
  /** A folder with config.json, tokenizer files and onnx/model.onnx. */
  dir: string;
  /** The spec as given, with a short content hash: names exactly which weights generated a text. */
  modelId: string;
  /** Short content hash of the adapter, or null without one. */
  adapterVersion: string | null;
  /** Whether this call exported the graph (false: ready folder or cache hit). */
  built: boolean;
  /** The folder's config.json; null when it is missing or not JSON (transformers.js then says why). */
  config: ModelConfigJson | null;
  /** The transformers.js dtype to load (see exportedDType); fp32 when the folder names none. */
  dtype: string;
}

/** config.json as Hugging Face writes it: read for limits, dims and token ids, not validated here. */
export type ModelConfigJson = Record<string, any>;

/** A folder's config.json, or null when it is missing, too large or not JSON. */
function readConfigJson(dir: string): ModelConfigJson | null {
  try {
    return JSON.parse(readModelText(join(dir, 'config.json')));
  } catch {
    return null;
  }
}

export interface SourceOptions {
  cacheDir: string;
  hub?: HubOptions;
  log?: (message: string) => void;
}

/** Files that make up a model or adapter folder (top level; pickles, docs and dotfiles left out). */
function contentFiles(dir: string, sub = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(dir, sub)).sort()) {
    const rel = sub ? `${sub}/${name}` : name;
    if (name.startsWith('.') || PICKLE_PATTERN.test(name) || /\.(md|txt|png|jpg)$/i.test(name) || name === MARKER) continue;
    const st = statSync(join(dir, rel));
    if (st.isFile()) out.push(rel);
    else if (st.isDirectory() && rel === 'onnx') out.push(...contentFiles(dir, rel));
  }
  return out;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * sha256 over a folder's files (names and contents). Per-file hashes are remembered by path, size and
 * mtime in the cache, so multi-GB weights are read once, not on every start.
 */
export async function folderHash(dir: string, cacheDir: string): Promise<string> {
  const memoPath = join(cacheDir, 'file-hashes.json');
  let memo: Record<string, string>;
  try {
    memo = JSON.parse(readFileSync(memoPath, 'utf8'));
  } catch {
    memo = {}; // first use, or a damaged memo: hashes are recomputed
  }
  let changed = false;
  const total = createHash('sha256');
  for (const rel of contentFiles(dir)) {
    const path = join(dir, rel);
    const st = statSync(path);
    const key = `${path}|${st.size}|${st.mtimeMs}`;
    if (!memo[key]) {
      memo[key] = await sha256File(path);
      changed = true;
    }
    total.update(`${rel}\0${memo[key]}\n`);
  }
  if (changed) {
    mkdirSync(cacheDir, { recursive: true });
    writeFileAtomic(memoPath, JSON.stringify(memo));
  }
  return total.digest('hex');
}

const EXPORT_DTYPES = ['fp32', 'fp16', 'q8', 'q4'];

/**
 * The transformers.js dtype of an exported folder (which onnx/model*.onnx it loads): the one its
 * config.json names, as our fp16 and quantized exports do, else the first present; null when the
 * folder holds none.
 */
export function exportedDType(dir: string, config: ModelConfigJson | null = readConfigJson(dir)): string | null {
  const present = EXPORT_DTYPES.filter((d) => existsSync(join(dir, onnxFileNames(d).model)));
  if (present.length === 0) return null;
  // Without a readable config.json the first present: transformers.js reports the config itself.
  const named: unknown = config?.['transformers.js_config']?.dtype;
  return typeof named === 'string' && present.includes(named) ? named : present[0];
}

export function isTransformersJsFolder(dir: string): boolean {
  return exportedDType(dir) !== null;
}

/** Resolves a spec (and adapter folder) to a loadable folder, exporting into the cache when needed. */
export async function prepareModel(spec: string, adapterDir: string | null, options: SourceOptions): Promise<PreparedModel> {
  const folder = await resolveModelSpec(spec, options.hub);
  // Before anything reads it (the hash below skips non-regular files; transformers.js would not).
  checkModelFolder(folder);
  const hash = await folderHash(folder, options.cacheDir);
  const modelId = `${spec.trim()}#${hash.slice(0, 12)}`;
  const adapterHash = adapterDir ? await folderHash(adapterDir, options.cacheDir) : null;
  const adapterVersion = adapterHash ? adapterHash.slice(0, 12) : null;
  const loadable = (dir: string, built: boolean): PreparedModel => {
    const config = readConfigJson(dir);
    return { dir, modelId, adapterVersion, built, config, dtype: exportedDType(dir, config) ?? 'fp32' };
  };
  if (isTransformersJsFolder(folder)) {
    if (adapterDir) throw new Error(`${spec} is an exported ONNX folder; an adapter can only be merged into a Hugging Face checkpoint folder.`);
    return loadable(folder, false);
  }
  const key = createHash('sha256').update(`${GRAPH_BUILDER_VERSION}\n${hash}\n${adapterHash ?? ''}`).digest('hex').slice(0, 24);
  const dir = join(options.cacheDir, 'onnx', key);
  if (existsSync(join(dir, MARKER))) return loadable(dir, false);
  const tmp = `${dir}.${process.pid}.${Date.now()}.tmp`;
  options.log?.(`exporting ${spec}${adapterDir ? ` with adapter ${adapterVersion}` : ''} to ONNX (cache key ${key})`);
  try {
    await exportOnnx(folder, tmp, { lora: adapterDir ?? undefined });
    writeFileSync(join(tmp, MARKER), JSON.stringify({ spec, folder, checkpointHash: hash, adapterHash, builder: GRAPH_BUILDER_VERSION }, null, 2));
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true }); // an unfinished export (no marker)
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (existsSync(join(dir, MARKER))) return loadable(dir, false); // another process won
    throw err;
  }
  return loadable(dir, true);
}
