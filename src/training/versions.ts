// Adapter versions on disk: <root>/adapters/v0001/ (PEFT files + meta.json), and <root>/active.json
// naming the active one. A version folder is written under a temporary name and renamed into place,
// and active.json is replaced by rename, so a crash (kill -9 included) leaves either the old state
// or the new one: never a half-written version, never a pointer to one. Version names are picked and
// renamed into place under a lock on the folder, so two training runs into one folder each get
// their own version. Names read from disk are checked, so a damaged active.json cannot point outside.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncPath, writeFileAtomic } from '../base/atomic-file';
import { FileLock } from '../base/file-lock';
import type { BaseModelIdentity } from '../models/base-identity';
import type { DecoderConfig } from '../models/config';
import type { LoraAdapter } from '../models/lora';
import { loadPeftAdapter, savePeftAdapter } from '../models/peft';

export const ACTIVE_FILE = 'active.json';
export const META_FILE = 'meta.json';
/** With separate adapters, the Leader's own adapter: a PEFT folder inside the version's. */
export const LEADER_ADAPTER_DIR = 'leader';
const VERSION_NAME = /^v(\d{4,})$/;

export interface VersionMeta {
  version: string;
  createdAt: string;
  baseModel: string | null;
  /** The base model's identity (spec, config.json hash, shapes): the extension applies the version only to that model. Absent on older versions. */
  base?: BaseModelIdentity;
  /** Decisions (store records; the keys keep their first name) trained on and held out, and the game samples trained on. */
  data: { trainPairs: number; heldOutPairs: number; samples: number };
  metrics: Record<string, number | null>;
  settings: Record<string, unknown>;
  /** Set when the adapter was trained elsewhere and imported (adapter-import.ts); absent on versions trained here. */
  imported?: ImportedProvenance;
}

/** Where an imported adapter came from, as its adapter_config.json declared it. */
export interface ImportedProvenance {
  /** The PEFT folder it was imported from (absolute). */
  source: string;
  /** `base_model_name_or_path` as written by the trainer that made it. */
  baseModel: string | null;
  rank: number;
  alpha: number;
  /** `target_modules` as written (q_proj, v_proj, ...). */
  targetModules: string[];
  /** The `peft_version` that wrote it, when recorded. */
  peftVersion: string | null;
  /** SHA-256 of its adapter_model.safetensors, to tell two imports of one folder apart from a changed folder. */
  weightsSha256: string;
}

export interface ActivePointer {
  version: string | null;
  previous: string | null;
  activatedAt: string;
}

/** Writes a folder's contents under a temporary name, then renames it to `target` (which must not exist). */
export async function writeDirAtomic(target: string, fill: (dir: string) => Promise<void>): Promise<void> {
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  try {
    await fill(tmp);
    for (const name of readdirSync(tmp)) fsyncPath(join(tmp, name));
    fsyncPath(tmp);
    renameSync(tmp, target);
    fsyncPath(join(target, '..'));
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

export const adaptersDir = (root: string): string => join(root, 'adapters');

/** A version's folder; refuses anything but a version name (a path like "../../x" included). */
function versionDir(root: string, version: string): string {
  if (!VERSION_NAME.test(version)) throw new Error(`${JSON.stringify(version)} is not an adapter version name (v0001, v0002, ...)`);
  return join(adaptersDir(root), version);
}

// Held while a version's name is picked and its folder renamed into place (seconds at most).
const SAVE_TIMEOUT_MS = 60_000;
const SAVE_STALE_MS = 60_000;

function versionsLock(root: string): FileLock {
  return new FileLock(join(root, 'versions.lock'), {
    timeoutMs: SAVE_TIMEOUT_MS,
    staleMs: SAVE_STALE_MS,
    busy: (holder, path) => new Error(
      `Another training run (${holder?.pid ? `process ${holder.pid} on ${holder.host}` : 'another process'}) is saving a version into ${root}; ` +
        `this run's adapter was not saved. Wait for it to finish and train again. (A lock left by a run that ended, ${path}, is taken over automatically.)`),
  });
}

/** Complete versions (folders with meta.json), oldest first. Temporary folders are ignored. */
export function listVersions(root: string): string[] {
  const dir = adaptersDir(root);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => VERSION_NAME.test(name) && existsSync(join(dir, name, META_FILE)))
    .sort((a, b) => Number(VERSION_NAME.exec(a)![1]) - Number(VERSION_NAME.exec(b)![1]));
}

export function readMeta(root: string, version: string): VersionMeta {
  return JSON.parse(readFileSync(join(versionDir(root, version), META_FILE), 'utf8')) as VersionMeta;
}

/** Saves an adapter (and a separately trained Leader's, in LEADER_ADAPTER_DIR) as the next version (not activated). */
export async function saveVersion(root: string, adapter: LoraAdapter, meta: Omit<VersionMeta, 'version' | 'createdAt'>, leaderAdapter?: LoraAdapter): Promise<string> {
  mkdirSync(adaptersDir(root), { recursive: true });
  // Without the lock two runs pick the same name and the second rename fails (ENOTEMPTY): one adapter lost.
  return versionsLock(root).with(async () => {
    const taken = readdirSync(adaptersDir(root)).map((n) => VERSION_NAME.exec(n)).filter((m) => m).map((m) => Number(m![1]));
    const version = `v${String(Math.max(0, ...taken) + 1).padStart(4, '0')}`;
    const full: VersionMeta = { version, createdAt: new Date().toISOString(), ...meta };
    await writeDirAtomic(versionDir(root, version), async (dir) => {
      await savePeftAdapter(dir, adapter, { baseModel: meta.baseModel ?? undefined });
      if (leaderAdapter) {
        mkdirSync(join(dir, LEADER_ADAPTER_DIR));
        await savePeftAdapter(join(dir, LEADER_ADAPTER_DIR), leaderAdapter, { baseModel: meta.baseModel ?? undefined });
      }
      writeFileSync(join(dir, META_FILE), JSON.stringify(full, null, 2) + '\n');
    });
    return version;
  });
}

/**
 * Removes a version that was saved but never activated (a run cancelled between save and activate).
 * Renamed away first, so an interruption leaves no folder that looks like a complete version.
 */
export function discardVersion(root: string, version: string): void {
  if (readActive(root)?.version === version) throw new Error(`${version} is the active version; activate another before removing it`);
  const dir = versionDir(root, version);
  const doomed = `${dir}.discarded-${process.pid}-${Date.now()}`;
  renameSync(dir, doomed);
  rmSync(doomed, { recursive: true, force: true });
}

/** The pointer, checked: a damaged active.json is an error that says how to repair it, never a path. */
export function readActive(root: string): ActivePointer | null {
  const path = join(root, ACTIVE_FILE);
  if (!existsSync(path)) return null;
  const damaged = (why: string) => new Error(
    `${path} is damaged (${why}). Choose the adapter version again (slhf adapters --out ${root} --activate vNNNN|base, or in the SLHF panel); that rewrites it.`);
  let pointer: Partial<ActivePointer>;
  try {
    pointer = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw damaged('not valid JSON');
  }
  if (typeof pointer !== 'object' || pointer === null || Array.isArray(pointer)) throw damaged('not a JSON object');
  if (!('version' in pointer)) throw damaged('it has no "version"');
  for (const key of ['version', 'previous'] as const) {
    const value = pointer[key] ?? null;
    if (value !== null && (typeof value !== 'string' || !VERSION_NAME.test(value))) {
      throw damaged(`"${key}" must be null or a version name like v0001, got ${JSON.stringify(value)}`);
    }
  }
  return { version: pointer.version ?? null, previous: pointer.previous ?? null, activatedAt: String(pointer.activatedAt ?? '') };
}

/** The active version's folder, or null for the base model. */
export function activeAdapterDir(root: string): string | null {
  const version = readActive(root)?.version;
  return version ? versionDir(root, version) : null;
}

/** Points active.json at `version` (null: the base model). */
export function activate(root: string, version: string | null): ActivePointer {
  if (version !== null && !listVersions(root).includes(version)) throw new Error(`no adapter version ${version} in ${adaptersDir(root)}`);
  // Activating is also how a damaged pointer is repaired, so a pointer that cannot be read has no previous.
  let previous: string | null;
  try {
    previous = readActive(root)?.version ?? null;
  } catch {
    previous = null;
  }
  const pointer: ActivePointer = { version, previous, activatedAt: new Date().toISOString() };
  mkdirSync(root, { recursive: true });
  writeFileAtomic(join(root, ACTIVE_FILE), JSON.stringify(pointer, null, 2) + '\n');
  return pointer;
}

/** Activates the version before the active one (or the base model before the first). */
export function rollback(root: string): ActivePointer {
  const current = readActive(root)?.version ?? null;
  if (current === null) throw new Error('nothing to roll back: the base model is active');
  const versions = listVersions(root);
  const index = versions.indexOf(current);
  return activate(root, index > 0 ? versions[index - 1] : null);
}

export async function loadVersion(root: string, version: string, config: DecoderConfig): Promise<LoraAdapter> {
  return loadPeftAdapter(versionDir(root, version), config);
}
