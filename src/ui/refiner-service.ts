// The extension host's handle on the refiner: from the model settings, starts the refiner process
// on first use (the refiner client itself loads no ONNX Runtime; only that process does, so its
// crash or out-of-memory cannot take the extension host down), and reports the models' state for
// the status bar and the panel.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { RefinerClient } from '../refiner/client';
import { resolveDevice } from '../refiner/device';
import type { RefineEvent, RefineRequest } from '../refiner/loop';
import type { WorkerConfig } from '../refiner/refiner-protocol';
import { DEFAULT_MODEL_LABEL, SUGGESTED_MODEL } from '../models/default-model';
import { leaderAdapterDir } from './leader-training';
import type { PanelModelStatus } from './panel-protocol';
import { readModelSettings, type ModelSettings } from './slhf-settings';

export type ModelState = 'not-configured' | 'idle' | 'working' | 'loaded' | 'error';

/** The models' state as the status bar and the panel show it. */
export type ModelStatus = PanelModelStatus & { readonly state: ModelState };

export class ModelsNotConfiguredError extends Error {
  override name = 'ModelsNotConfiguredError';
  constructor() {
    super(`SLHF: No model is configured and the ${DEFAULT_MODEL_LABEL} is missing from this installation. Set "slhf.follower.model" (and optionally "slhf.leader.model") to a local model folder or a Hugging Face model id, e.g. ${SUGGESTED_MODEL}.`);
  }
}

/** Models loaded by the refiner process stay for this long after their last use. */
const IDLE_UNLOAD_MS = 10 * 60_000;

/** The built-in model's detail line: what it is and how to switch to a real one. */
export const BUILT_IN_DETAIL = `Using the ${DEFAULT_MODEL_LABEL}: it only fixes typos, doubled words, casing, spacing and final full stops in short English sentences. For real work, set slhf.follower.model to a real model, e.g. ${SUGGESTED_MODEL} (SLHF: Select Models…).`;

/** `leaderAdapter`: from a version that trained the Leader too (its shared adapter, or the Leader's own); the Leader then drafts with it. */
function workerConfig(settings: ModelSettings, followerAdapter: string | null, leaderAdapter: string | null): WorkerConfig {
  const leaderSpec = settings.leader || (leaderAdapter ? settings.follower : '');
  return {
    host: { cacheDir: settings.cacheDir, device: settings.device, idleUnloadMs: IDLE_UNLOAD_MS },
    roles: { leader: leaderSpec ? { spec: leaderSpec, adapter: leaderAdapter } : null, follower: { spec: settings.follower, adapter: followerAdapter } },
  };
}

/**
 * The active version's adapter for each role (null: the base model), read from the versions folder;
 * none when the active version was trained on another base model (merged into this one it would
 * fail on its tensor shapes, or steer the wrong weights).
 */
async function activeAdapters(root: string, settings: ModelSettings): Promise<{ follower: string | null; leader: string | null; version: string | null; note: string }> {
  const { activeAdapterDir, LEADER_ADAPTER_DIR, readActive, readMeta } = await import('../training/versions');
  const dir = activeAdapterDir(root);
  const version = readActive(root)?.version;
  if (!dir || !version) return { follower: null, leader: null, version: null, note: '' };
  const meta = readMeta(root, version);
  const { currentBase, notAppliedNote, sameBaseModel } = await import('./version-base');
  if (!sameBaseModel(meta, await currentBase(settings.follower))) {
    return { follower: null, leader: null, version: null, note: notAppliedNote(version, meta, modelLabel(settings)) };
  }
  const separate = join(dir, LEADER_ADAPTER_DIR);
  const active = { dir, meta, separateLeaderDir: existsSync(separate) ? separate : null };
  return { follower: dir, leader: leaderAdapterDir(active, settings), version, note: '' };
}

/** The Follower model as messages name it. */
export function modelLabel(settings: ModelSettings): string {
  return settings.builtIn ? DEFAULT_MODEL_LABEL : settings.follower;
}

export class RefinerService implements vscode.Disposable {
  private client: RefinerClient | undefined;
  private configKey = '';
  private lastUse = 0;
  /** The version names the last generations used (the refiner reports content hashes; the panel names versions). */
  private followerVersion: string | null = null;
  private leaderVersion: string | null = null;
  /** The version configured for the next request, and why the active one is not applied (empty when it is). */
  private configuredVersion: { follower: string | null; leader: string | null } = { follower: null, leader: null };
  private versionNote = '';
  private lastError = '';
  private busy = 0;
  /** The refiner process's memory when last sampled (after each request); the models live there. */
  private refinerBytes = 0;
  private readonly changed = new vscode.EventEmitter<ModelStatus>();
  readonly onDidChangeStatus = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly globalStorage: vscode.Uri,
    /** Where trained Follower versions live; the active one is merged into the Follower. */
    private readonly adaptersRoot: string,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables.push(vscode.workspace.onDidChangeConfiguration((event) => {
      if (!event.affectsConfiguration('slhf')) return;
      this.changed.fire(this.status());
      this.setLeaderContext();
    }));
    this.setLeaderContext();
  }

  /** `slhf.leaderIsBuiltIn` hides Draft and Refine (package.json): the built-in model fixes sentences, it cannot draft. */
  private setLeaderContext(): void {
    void vscode.commands.executeCommand('setContext', 'slhf.leaderIsBuiltIn', readModelSettings(this.globalStorage, this.extensionUri).builtIn);
  }

  status(): ModelStatus {
    const settings = readModelSettings(this.globalStorage, this.extensionUri);
    const base = {
      leader: settings.leader || (settings.follower ? `${settings.builtIn ? DEFAULT_MODEL_LABEL : settings.follower} (the Follower's base model)` : ''),
      follower: settings.builtIn && settings.follower ? DEFAULT_MODEL_LABEL : settings.follower,
      device: settings.device === 'auto' ? `auto (${resolveDevice('auto').device.toUpperCase()})` : settings.device,
      followerVersion: this.followerVersion,
      leaderVersion: this.leaderVersion,
      memoryMiB: Math.round((process.memoryUsage().rss + this.refinerBytes) / 2 ** 20),
    };
    if (!settings.follower) return { ...base, state: 'not-configured', detail: 'No model configured: set slhf.follower.model.' };
    if (this.busy > 0) return { ...base, state: 'working', detail: 'Generating…' };
    if (this.lastError) return { ...base, state: 'error', detail: this.lastError };
    const note = `${this.versionNote ? ` ${this.versionNote}` : ''}${settings.builtIn ? ` ${BUILT_IN_DETAIL}` : ''}`;
    if (this.client && Date.now() - this.lastUse < IDLE_UNLOAD_MS) return { ...base, state: 'loaded', detail: `Models loaded; they unload after 10 minutes without use.${note}` };
    return { ...base, state: 'idle', detail: `Models load on first use.${note}` };
  }

  private async ensureClient(): Promise<RefinerClient> {
    const settings = readModelSettings(this.globalStorage, this.extensionUri);
    if (!settings.follower) throw new ModelsNotConfiguredError();
    // Read on every request: a training run may have activated a new version (or rolled back).
    const adapters = await activeAdapters(this.adaptersRoot, settings);
    this.configuredVersion = { follower: adapters.follower ? adapters.version : null, leader: adapters.leader ? adapters.version : null };
    if (adapters.note !== this.versionNote) {
      if (adapters.note) this.log.warn(adapters.note);
      this.versionNote = adapters.note;
    }
    const config = workerConfig(settings, adapters.follower, adapters.leader);
    const key = JSON.stringify(config);
    if (!this.client) {
      const workerFile = vscode.Uri.joinPath(this.extensionUri, 'out', 'refiner-worker.js').fsPath;
      if (!existsSync(workerFile)) throw new Error(`SLHF: the refiner worker is missing from this build (${workerFile}).`);
      // Loaded on first use so that activation stays light.
      const { RefinerClient } = await import('../refiner/client');
      this.client = new RefinerClient(config, {
        workerFile,
        onLog: (message) => this.log.info(`refiner: ${message}`),
        onCrash: (error) => {
          this.log.error(error.message);
          this.lastError = error.message;
          this.changed.fire(this.status());
        },
      });
    } else if (key !== this.configKey) {
      this.client.configure(config);
    }
    this.configKey = key;
    return this.client;
  }

  /** Runs a request in the refiner process; the events stream as they come. */
  async *refine(request: RefineRequest, signal: AbortSignal): AsyncGenerator<RefineEvent> {
    const client = await this.ensureClient();
    this.busy++;
    this.lastError = '';
    this.changed.fire(this.status());
    try {
      for await (const event of client.refine(request, signal)) {
        if (event.type === 'round-end') {
          if (event.result.role === 'follower') this.followerVersion = event.result.adapterVersion ? this.configuredVersion.follower : null;
          else this.leaderVersion = event.result.adapterVersion ? this.configuredVersion.leader : null;
        }
        yield event;
      }
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      throw error;
    } finally {
      this.busy--;
      this.lastUse = Date.now();
      this.changed.fire(this.status());
      void client.residentBytes().then((bytes) => {
        this.refinerBytes = bytes ?? 0;
        this.changed.fire(this.status());
      });
    }
  }

  /**
   * Kills the refiner process now and resolves once it has exited: requests in flight fail with
   * "the refiner was shut down", and the next request starts a fresh process. For a refinement that
   * does not stop on Cancel (the client itself kills one that outlives Cancel by 2 s).
   */
  async shutDown(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.configKey = '';
    this.refinerBytes = 0;
    await client?.dispose();
  }

  dispose(): void {
    void this.client?.dispose();
    for (const disposable of this.disposables) disposable.dispose();
  }
}
