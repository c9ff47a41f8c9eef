// Hosts the Leader and Follower models: loaded lazily on first use, unloaded after an idle time,
// held once when both roles resolve to the same folder, and the Follower's adapter version switched
// without touching the Leader. Runs wherever generation runs (the worker).
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { explainProviderFailure } from '../onnx/provider-hints';
import { readJson } from '../models/checkpoint';
import { loadTokenizer } from '../models/tokenizer';
import { collectGarbage } from '../base/memory';
import { resolveDevice, type DeviceSetting } from './device';
import { defaultMemoryLimitBytes } from '../base/child-process';
import { modelDims, type ModelDims } from './limits';
import { prepareModel, type PreparedModel, type SourceOptions } from '../models/export-cache';
import { samplingDefaults, type GenerationSettings, type Role } from './refiner-settings';

export interface HostOptions extends SourceOptions {
  /** See resolveDevice for what 'auto' picks. */
  device?: DeviceSetting;
  /** Unload a model this long after its last use; 0 keeps models loaded. Default 10 minutes. */
  idleUnloadMs?: number;
  /** The memory the generating process may use; a round that would not fit is refused. Default: defaultMemoryLimitBytes(). */
  memoryLimitBytes?: number;
  /** Threads inside one op of the model (ORT intraOpNumThreads); 0 lets ORT choose. Default: refinerThreads(). */
  threads?: number;
}

/**
 * Physical cores this process may use, on Linux (/proc/cpuinfo's distinct physical and core ids,
 * capped by the CPUs it is allowed); null elsewhere. Hyper-threads share a core's vector units, so
 * a matmul-bound decode gains nothing from them and loses to their contention.
 */
export function physicalCores(cpuinfo?: string): number | null {
  try {
    const text = cpuinfo ?? readFileSync('/proc/cpuinfo', 'utf8');
    const cores = new Set<string>();
    for (const block of text.split(/\n\s*\n/)) {
      const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(block)?.[1];
      const core = field('core id');
      if (core !== undefined) cores.add(`${field('physical id') ?? 0}:${core}`);
    }
    return cores.size > 0 ? Math.min(cores.size, availableParallelism()) : null;
  } catch {
    return null;
  }
}

/** The refiner's op-thread count: $SLHF_THREADS when set, else the physical cores, else 0 (ORT's choice). */
export function refinerThreads(env: NodeJS.ProcessEnv = process.env): number {
  const set = env.SLHF_THREADS?.trim();
  if (set) {
    const n = Number(set);
    if (!Number.isInteger(n) || n < 0) throw new Error(`SLHF_THREADS must be a whole number of threads (0: ONNX Runtime chooses), got ${JSON.stringify(set)}`);
    return n;
  }
  return physicalCores() ?? 0;
}

export interface RoleConfig {
  spec: string;
  /** A PEFT adapter folder merged into this role's weights. */
  adapter?: string | null;
}

export interface LoadedModel {
  /** transformers.js PreTrainedModel and tokenizer. */
  model: any;
  tokenizer: any;
  source: PreparedModel;
  device: string;
  contextLength: number;
  /** The sizes its working memory grows with (checkMemoryBudget). */
  dims: ModelDims;
  /** The process's resident memory once this model was loaded: what a generation adds to. */
  residentAfterLoad: number;
  /** HostOptions.memoryLimitBytes, resolved. */
  memoryLimitBytes: number;
  eosIds: number[];
  /** What the model's generation_config.json asks for where the user set nothing. */
  samplingDefaults: Partial<GenerationSettings>;
}

interface Entry {
  loading: Promise<LoadedModel>;
  users: number;
  timer: NodeJS.Timeout | null;
}

function eosIdsOf(...configs: any[]): number[] {
  const ids = new Set<number>();
  for (const c of configs) for (const id of [c?.eos_token_id].flat()) if (Number.isInteger(id)) ids.add(id);
  return [...ids];
}

let loadChain: Promise<unknown> = Promise.resolve();

/** transformers.js reads models relative to one global folder, so loads take turns. */
function serially<T>(fn: () => Promise<T>): Promise<T> {
  const next = loadChain.then(fn, fn);
  loadChain = next.catch(() => undefined);
  return next;
}

async function loadTransformers(source: PreparedModel, device: DeviceSetting, memoryLimitBytes: number, threads: number, log: (m: string) => void): Promise<LoadedModel> {
  const { env, AutoModelForCausalLM } = await import('@huggingface/transformers');
  return serially(async () => {
    const tokenizer = await loadTokenizer(source.dir);
    // Building the tokenizer leaves its parsed JSON and intermediate tables (~60 MB for Qwen) for V8
    // to collect when it decides; collected before ONNX Runtime's load, they are not part of its peak.
    await collectGarbage();
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = dirname(source.dir);
    const id = basename(source.dir);
    const { device: wanted, note } = resolveDevice(device);
    if (note) log(note);
    // Named, because transformers.js would otherwise pick a dtype by device; our exports are fp32
    // unless the user exported a half or quantized folder and pointed us at it.
    const dtype = source.dtype as any;
    // One sequence at a time: ops run one after another, each on `threads` threads.
    const session_options = threads > 0 ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {};
    let model: any;
    let used = wanted;
    try {
      model = await AutoModelForCausalLM.from_pretrained(id, { device: wanted as any, dtype, session_options });
    } catch (err) {
      if (wanted === 'cpu') throw err;
      log(`device ${wanted} is not available (${explainProviderFailure(wanted, (err as Error).message)}); falling back to cpu`);
      used = 'cpu';
      model = await AutoModelForCausalLM.from_pretrained(id, { device: 'cpu', dtype, session_options });
    }
    // Read once by prepareModel; transformers.js has just loaded the folder, so null means the file
    // changed under us or is over the size limit of readModelText.
    const config = source.config;
    if (!config) throw new Error(`${join(source.dir, 'config.json')} is missing, too large or not JSON`);
    const generation = readJson(join(source.dir, 'generation_config.json'));
    return {
      model, tokenizer, source, device: used, contextLength: config.max_position_embeddings ?? 2048,
      dims: modelDims(config), residentAfterLoad: process.memoryUsage.rss(), memoryLimitBytes,
      eosIds: eosIdsOf(config, generation), samplingDefaults: samplingDefaults(generation),
    };
  });
}

export class ModelHost {
  private roles = new Map<Role, RoleConfig>();
  private sources = new Map<string, Promise<PreparedModel>>();
  private entries = new Map<string, Entry>();
  /** The entry key each role is bound to, once it has been resolved. */
  private bound = new Map<Role, string>();
  private readonly log: (m: string) => void;

  constructor(private readonly options: HostOptions) {
    this.log = options.log ?? (() => undefined);
  }

  /** Sets both roles; without a Leader the Follower's base checkpoint plays it (the paper's default). */
  configure(roles: { leader?: RoleConfig | null; follower: RoleConfig }): void {
    this.setRole('follower', roles.follower);
    this.setRole('leader', roles.leader ?? { spec: roles.follower.spec, adapter: null });
  }

  /** Switches the Follower's adapter version; only the Follower reloads. */
  setFollowerAdapter(adapter: string | null): void {
    const follower = this.roles.get('follower');
    if (!follower) throw new Error('configure the models before setting an adapter');
    this.setRole('follower', { ...follower, adapter });
  }

  private setRole(role: Role, config: RoleConfig): void {
    const old = this.roles.get(role);
    if (old && old.spec === config.spec && (old.adapter ?? null) === (config.adapter ?? null)) return;
    this.roles.set(role, config);
    this.bound.delete(role);
    this.dropUnbound();
  }

  /** The checkpoint a role is configured with (a path or a hub id), without loading anything. */
  specOf(role: Role): string | undefined {
    return this.roles.get(role)?.spec;
  }

  /** Runs `fn` with the role's model, loading it first if needed; the model stays loaded meanwhile. */
  async use<T>(role: Role, fn: (model: LoadedModel) => Promise<T>): Promise<T> {
    const config = this.roles.get(role);
    if (!config) throw new Error(`no ${role} model configured`);
    const sourceKey = `${config.spec}\0${config.adapter ?? ''}`;
    let sourcePromise = this.sources.get(sourceKey);
    if (!sourcePromise) {
      sourcePromise = prepareModel(config.spec, config.adapter ?? null, this.options);
      this.sources.set(sourceKey, sourcePromise);
      sourcePromise.catch(() => this.sources.delete(sourceKey));
    }
    const source = await sourcePromise;
    if (this.roles.get(role) !== config) return this.use(role, fn); // reconfigured while preparing
    // Same folder (same checkpoint content, same adapter) means the same loaded model object.
    const key = source.dir;
    this.bound.set(role, key);
    let entry = this.entries.get(key);
    if (!entry) {
      const { device = 'auto', memoryLimitBytes = defaultMemoryLimitBytes(), threads = refinerThreads() } = this.options;
      entry = { loading: loadTransformers(source, device, memoryLimitBytes, threads, this.log), users: 0, timer: null };
      this.entries.set(key, entry);
      entry.loading.catch(() => this.entries.get(key) === entry && this.entries.delete(key));
    }
    entry.users++;
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    try {
      return await fn(await entry.loading);
    } finally {
      entry.users--;
      this.release(key, entry);
    }
  }

  private release(key: string, entry: Entry): void {
    if (entry.users > 0 || this.entries.get(key) !== entry) return;
    if (![...this.bound.values()].includes(key)) {
      void this.unload(key);
      return;
    }
    const idle = this.options.idleUnloadMs ?? 10 * 60_000;
    if (idle > 0) {
      entry.timer = setTimeout(() => void this.unload(key), idle);
      entry.timer.unref();
    }
  }

  private dropUnbound(): void {
    const inUse = new Set(this.bound.values());
    for (const [key, entry] of this.entries) if (!inUse.has(key) && entry.users === 0) void this.unload(key);
  }

  private async unload(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry || entry.users > 0) return;
    this.entries.delete(key);
    if (entry.timer) clearTimeout(entry.timer);
    try {
      const loaded = await entry.loading;
      await loaded.model.dispose();
      this.log(`unloaded ${loaded.source.modelId}`);
    } catch {
      // a model that failed to load holds nothing
    }
  }

  /** Distinct loaded (or loading) models, for status displays and tests. */
  loadedModels(): string[] {
    return [...this.entries.keys()];
  }

  /** The entry key a role used last, if it is still loaded. */
  boundKey(role: Role): string | undefined {
    return this.bound.get(role);
  }

  async unloadAll(): Promise<void> {
    this.bound.clear();
    await Promise.all([...this.entries.keys()].map((key) => this.unload(key)));
  }
}
