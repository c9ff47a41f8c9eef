// Fixture models for the inference bench, cached outside the repo (os.tmpdir()/slhf-bench-fixtures)
// and reused across runs: a 0.5B-shaped checkpoint takes ~2 GB and half a minute to write, and its
// ONNX export as long again. The export goes through the refiner's own cache (prepareModel), so
// the bench loads exactly the folder the product would.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { exportOnnx, type ExportOptions } from '../src/models/export';
import { makeTinyModel, TINY_SHAPE, QWEN25_05B_SHAPE, type TinyModelShape } from '../src/models/tiny-models/tiny-model';
import type { FixtureTokenizerKind } from '../src/models/tiny-models/tokenizers';
import type { ModelType } from '../src/models/config';
import { prepareModel } from '../src/models/export-cache';

export interface InferenceFixture {
  /** Row-name prefix in the table. */
  name: string;
  arch: ModelType;
  tokenizer: FixtureTokenizerKind;
  shape: TinyModelShape;
  seed: number;
  /** Timed generations per side (after one warm-up); the big model gets few. */
  runs: number;
}

export const TINY_FIXTURE: InferenceFixture = { name: 'tiny qwen2', arch: 'qwen2', tokenizer: 'bytes', shape: TINY_SHAPE, seed: 3, runs: 10 };
export const QWEN_05B_FIXTURE: InferenceFixture = { name: 'Qwen2.5-0.5B shape', arch: 'qwen2', tokenizer: 'qwen3', shape: QWEN25_05B_SHAPE, seed: 3, runs: 3 };

export const FIXTURE_ROOT = join(tmpdir(), 'slhf-bench-fixtures');
const DONE = 'bench-fixture.json';

/** The checkpoint folder and its exported transformers.js folder, built on first use. */
export async function ensureFixture(f: InferenceFixture, log: (m: string) => void): Promise<{ checkpoint: string; onnx: string }> {
  const key = `${f.arch}-${f.tokenizer}-l${f.shape.layers}-h${f.shape.hidden}-a${f.shape.heads}-kv${f.shape.kvHeads}-i${f.shape.intermediate}-s${f.seed}`;
  const checkpoint = join(FIXTURE_ROOT, 'models', key);
  const marker = join(checkpoint, DONE);
  // The marker is written last, so an interrupted write is redone instead of half-used.
  if (!existsSync(marker) || readFileSync(marker, 'utf8') !== JSON.stringify(f)) {
    log(`writing fixture ${f.name} to ${checkpoint}...`);
    rmSync(checkpoint, { recursive: true, force: true });
    await makeTinyModel({ arch: f.arch, tokenizer: f.tokenizer, out: checkpoint, seed: f.seed, ...f.shape });
    writeFileSync(marker, JSON.stringify(f));
  }
  const cacheDir = join(FIXTURE_ROOT, 'refiner-cache');
  mkdirSync(cacheDir, { recursive: true });
  const source = await prepareModel(checkpoint, null, { cacheDir, log });
  return { checkpoint, onnx: source.dir };
}

/** Sources that shape an exported graph: a change to any of them invalidates a cached variant export. */
const GRAPH_SOURCES = ['src/models/decoder.ts', 'src/models/decode-graph.ts', 'src/models/graphs.ts', 'src/models/export.ts', 'src/onnx/contrib.ts'];

/**
 * The checkpoint exported with explicit options (graph variant, dtype), for rows that compare a variant
 * with what the refiner runs; cached beside the refiner's exports, keyed by checkpoint and options.
 */
export async function ensureVariantExport(checkpoint: string, options: ExportOptions, log: (m: string) => void): Promise<string> {
  const key = `${basename(checkpoint)}-${options.graph ?? 'plain'}-${options.dtype ?? 'float32'}`;
  const dir = join(FIXTURE_ROOT, 'variants', key);
  const marker = join(dir, DONE);
  const sources = createHash('sha256');
  for (const file of GRAPH_SOURCES) sources.update(readFileSync(join(__dirname, '..', file)));
  const stamp = JSON.stringify({ options, sources: sources.digest('hex') });
  if (!existsSync(marker) || readFileSync(marker, 'utf8') !== stamp) {
    log(`exporting ${key}...`);
    rmSync(dir, { recursive: true, force: true });
    await exportOnnx(checkpoint, dir, options);
    writeFileSync(marker, stamp);
  }
  return dir;
}
