// ONNX Runtime sessions: execution-provider selection with CPU fallback, thread options, a session cache.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { locateOrt } from './cuda-provider';
import { type DType, type TypedArray, typedArrayFrom } from './dtype';
import { explainProviderFailure } from './provider-hints';
import { type ModelBytes } from './serialize';

export const DEVICES = ['auto', 'cpu', 'cuda', 'dml', 'coreml', 'webgpu'] as const;
export type Device = (typeof DEVICES)[number];

export interface SessionOptions {
  /** A provider, "auto" (the platform's accelerators, then CPU), or an explicit order to try. */
  device?: Device | Exclude<Device, 'auto'>[];
  /** Threads used inside one op (ORT intraOpNumThreads). 0 or unset lets ORT choose. */
  intraOpThreads?: number;
  /** Threads running independent ops in parallel (only with parallel execution mode). */
  interOpThreads?: number;
  graphOptimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Receives provider fallback reasons; defaults to console.warn. */
  log?: (message: string) => void;
}

/** A model to load: serialized bytes (no external data) or a path written by saveModel. */
export type ModelSource = ModelBytes | string;

export class ModelLoadError extends Error {}

export type Feed = ort.Tensor | { dtype: DType; data: TypedArray | number[]; dims: readonly number[] };

export interface Session {
  /** The execution provider the session runs on. */
  readonly device: Exclude<Device, 'auto'>;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /**
   * Runs the graph. `fetch` names the outputs wanted, or maps output names to pre-allocated CPU tensors
   * that ORT fills in place (null: let ORT allocate) — the buffer reuse onnxruntime-node allows.
   */
  run(feeds: Record<string, Feed>, fetch?: string[] | Record<string, ort.Tensor | null>): Promise<Record<string, ort.Tensor>>;
  release(): Promise<void>;
  /** The underlying onnxruntime-node session, for IO options this wrapper does not cover. */
  readonly raw: ort.InferenceSession;
}

/** Makes an ORT tensor from plain numbers or a typed array (int64 from numbers is converted). */
export function toOrtTensor(dtype: DType, data: TypedArray | number[], dims: readonly number[]): ort.Tensor {
  const typed = Array.isArray(data) ? typedArrayFrom(dtype, data) : data;
  // Our dtype names are ORT's tensor type names.
  return new ort.Tensor(dtype as any, typed as any, dims);
}

/** Providers that failed under "auto" in this process: not retried (an absent GPU stays absent). */
const unavailable = new Map<Device, string>();

/**
 * Providers "auto" tries, best first, on this platform; CPU is always the last resort.
 * Providers that onnxruntime-node does not bundle (CUDA) count only when their library is installed.
 */
export function autoCandidates(platform: NodeJS.Platform = process.platform, supported = ort.listSupportedBackends()): Exclude<Device, 'auto'>[] {
  const names = new Set(supported.filter((b) => b.bundled || providerLibraryPresent(b.name)).map((b) => b.name));
  const wanted: Exclude<Device, 'auto'>[] = platform === 'win32' ? ['cuda', 'dml', 'webgpu'] : platform === 'darwin' ? ['coreml', 'webgpu'] : ['cuda', 'webgpu'];
  return [...wanted.filter((d) => names.has(d) && !unavailable.has(d)), 'cpu'];
}

function providerLibraryPresent(name: string): boolean {
  const ext = process.platform === 'win32' ? 'dll' : process.platform === 'darwin' ? 'dylib' : 'so';
  const prefix = process.platform === 'win32' ? '' : 'lib';
  return existsSync(join(locateOrt().providerDir, `${prefix}onnxruntime_providers_${name}.${ext}`));
}

function ortOptions(device: Exclude<Device, 'auto'>, o: SessionOptions): ort.InferenceSession.SessionOptions {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [device],
    executionMode: o.interOpThreads && o.interOpThreads > 1 ? 'parallel' : 'sequential',
    graphOptimizationLevel: o.graphOptimization ?? 'all',
    logSeverityLevel: 3,
  };
  // The binding rejects keys that are present but undefined.
  if (o.intraOpThreads !== undefined) options.intraOpNumThreads = o.intraOpThreads;
  if (o.interOpThreads !== undefined) options.interOpNumThreads = o.interOpThreads;
  return options;
}

async function load(model: ModelSource, options: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  if (typeof model === 'string') return ort.InferenceSession.create(model, options);
  if (model.external) throw new ModelLoadError('a model with external data must be saved with saveModel and loaded from its path');
  return ort.InferenceSession.create(model.bytes, options);
}

/** Creates a session. "auto" tries the platform's accelerators and falls back to CPU, logging why. */
export async function createSession(model: ModelSource, options: SessionOptions = {}): Promise<Session> {
  const log = options.log ?? ((m: string) => console.warn(m));
  const requested = options.device ?? 'auto';
  const candidates = requested === 'auto' ? autoCandidates() : Array.isArray(requested) ? requested : [requested];
  const fallsBack = candidates.length > 1;
  const failures: string[] = [];
  for (const device of candidates) {
    try {
      return wrap(await loadOptimized(model, device, options, log), device);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      // The raw error stays in the thrown message; the one-line hint says what to do about it.
      const hint = device === 'cpu' ? reason.split('\n')[0] : explainProviderFailure(device, reason);
      failures.push(`${device}: ${reason.trimEnd()}${device === 'cpu' ? '' : `\n  (${hint})`}`);
      if (e instanceof ModelLoadError) break;
      if (requested === 'auto' && device !== 'cpu') unavailable.set(device, hint);
      if (fallsBack && device !== candidates[candidates.length - 1]) log(`onnx: provider ${device} unavailable, falling back (${hint})`);
    }
  }
  throw new ModelLoadError(`could not load ${describe(model)} on ${candidates.join(', ')}:\n${failures.join('\n')}`);
}

/**
 * ORT's extended optimizations fuse patterns into contrib kernels that exist for float32 only
 * (x * sigmoid(x) becomes QuickGelu), so a float64 graph can fail to load at level "all". Unless
 * the caller chose a level, such a failure is retried with basic optimizations.
 */
async function loadOptimized(model: ModelSource, device: Exclude<Device, 'auto'>, options: SessionOptions, log: (m: string) => void): Promise<ort.InferenceSession> {
  try {
    return await load(model, ortOptions(device, options));
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (options.graphOptimization !== undefined || !/Fusion/.test(message)) throw e;
    log(`onnx: a fused kernel is missing for this graph's types; loading with basic optimizations (${message.split('\n')[0].slice(0, 200)})`);
    return load(model, ortOptions(device, { ...options, graphOptimization: 'basic' }));
  }
}

function describe(model: ModelSource): string {
  return typeof model === 'string' ? `model ${model}` : `model ${model.hash.slice(0, 12)} (${model.bytes.byteLength} bytes)`;
}

function isOrtTensor(f: Feed): f is ort.Tensor {
  return f instanceof ort.Tensor;
}

function wrap(session: ort.InferenceSession, device: Exclude<Device, 'auto'>): Session {
  return {
    device,
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    raw: session,
    async run(feeds, fetch) {
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const [name, f] of Object.entries(feeds)) ortFeeds[name] = isOrtTensor(f) ? f : toOrtTensor(f.dtype, f.data, f.dims);
      const missing = session.inputNames.filter((n) => !(n in ortFeeds));
      if (missing.length > 0) throw new Error(`run: missing inputs ${missing.join(', ')}`);
      return (fetch ? session.run(ortFeeds, fetch) : session.run(ortFeeds)) as Promise<Record<string, ort.Tensor>>;
    },
    release: () => session.release(),
  };
}

/** Sessions keyed by graph hash (or file identity) and options; concurrent requests share one load. */
export class SessionCache {
  private readonly sessions = new Map<string, Promise<Session>>();

  get(model: ModelSource, options: SessionOptions = {}): Promise<Session> {
    const key = `${modelKey(model)}|${optionsKey(options)}`;
    let s = this.sessions.get(key);
    if (!s) {
      s = createSession(model, options);
      this.sessions.set(key, s);
      // A failed load is not cached: the next request retries.
      s.catch(() => this.sessions.delete(key));
    }
    return s;
  }

  get size(): number {
    return this.sessions.size;
  }

  async clear(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of all) await s.then((x) => x.release(), () => undefined);
  }
}

function modelKey(model: ModelSource): string {
  if (typeof model !== 'string') return model.hash;
  // A missing file still gets a key; loading it then fails with ModelLoadError like any bad model.
  const st = statSync(model, { throwIfNoEntry: false });
  return st ? `${model}:${st.size}:${st.mtimeMs}` : model;
}

function optionsKey(o: SessionOptions): string {
  return JSON.stringify([o.device ?? 'auto', o.intraOpThreads ?? 0, o.interOpThreads ?? 0, o.graphOptimization ?? 'all']);
}

export { ort };
