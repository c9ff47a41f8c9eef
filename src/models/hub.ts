// Hugging Face hub model ids -> a local folder in the hub's cache layout
// ({cache}/models--org--name/{refs,snapshots/<commit>}), so Python's huggingface_hub and we can
// share a cache. Only safetensors weights are fetched; pickled checkpoints are never downloaded.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { downloadTo, fetchMetadata, HubError, type FileMetadata, type TransferOptions } from './hub-http';
import { modelFileLimit, readModelText } from './model-file';
import { SAFETENSORS_INDEX, SAFETENSORS_SINGLE } from './safetensors';

export { HubError, type HubErrorCode } from './hub-http';

export interface DownloadProgress {
  file: string;
  downloaded: number;
  /** Bytes expected, when the hub says. */
  total: number | null;
}

export interface HubOptions {
  /** Default: HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  /** Default: HF_TOKEN (or the older HUGGING_FACE_HUB_TOKEN). */
  token?: string | null;
  /** Default: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub. */
  cacheDir?: string;
  /** Branch, tag or commit; default: the revision after `@` in the id, else main. */
  revision?: string;
  /** Use only the cache (default: HF_HUB_OFFLINE=1). */
  offline?: boolean;
  onProgress?: (progress: DownloadProgress) => void;
  /** Resumes per file after a dropped or stalled connection, or a refused range (default 5). */
  retries?: number;
  /** A transfer with nothing (or next to nothing) for this long counts as dropped (default 60 s). */
  idleTimeoutMs?: number;
  /** Cancels the download: a HubError 'cancelled'; partial files are kept and resume next time. */
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

/** Files a model folder may need besides its weights; config.json is the only required one. */
export const MODEL_METADATA_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja'];

const REPO_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/** `org/name` or `org/name@revision`. */
export function parseRepoId(spec: string): { repoId: string; revision: string | null } {
  const at = spec.indexOf('@');
  const repoId = at >= 0 ? spec.slice(0, at) : spec;
  const revision = at >= 0 ? spec.slice(at + 1) : null;
  if (!REPO_ID.test(repoId) || repoId.includes('..') || revision === '') {
    throw new HubError(`${JSON.stringify(spec)} is not a hub model id (expected org/name or org/name@revision).`, 'bad-repo-id');
  }
  return { repoId, revision };
}

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return join(env.HF_HOME, 'hub');
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface', 'hub');
}

function repoFolder(cacheDir: string, repoId: string): string {
  return join(cacheDir, `models--${repoId.replace('/', '--')}`);
}

const isCommit = (revision: string) => /^[0-9a-f]{40}$/.test(revision);

/** Revision names may contain '/', which the cache stores as nested folders under refs/. */
function refPath(repoDir: string, revision: string): string {
  if (revision.split('/').some((p) => p === '..' || p === '.' || p === '')) throw new HubError(`Invalid revision ${JSON.stringify(revision)}.`, 'bad-repo-id');
  return join(repoDir, 'refs', ...revision.split('/'));
}

/** Shard names come from a downloaded index; only plain *.safetensors names are accepted. */
function shardNames(indexPath: string): string[] {
  const index = JSON.parse(readModelText(indexPath)) as { weight_map?: Record<string, unknown> };
  const names = new Set(Object.values(index.weight_map ?? {}));
  for (const name of names) {
    if (typeof name !== 'string' || !/^[\w.-]+\.safetensors$/.test(name) || name.startsWith('.')) {
      throw new HubError(`${indexPath}: unexpected shard name ${JSON.stringify(name)}.`, 'integrity');
    }
  }
  return [...names] as string[];
}

/** The snapshot folder a revision points to in the cache, or null. */
function cachedSnapshot(repoDir: string, revision: string): string | null {
  if (isCommit(revision)) return existsSync(join(repoDir, 'snapshots', revision)) ? join(repoDir, 'snapshots', revision) : null;
  const ref = refPath(repoDir, revision);
  if (!existsSync(ref)) return null;
  const commit = readModelText(ref, 4096).trim();
  return isCommit(commit) ? join(repoDir, 'snapshots', commit) : null;
}

function offlineSnapshot(repoId: string, repoDir: string, revision: string): string {
  const snapshot = cachedSnapshot(repoDir, revision);
  const missing = (what: string) => new HubError(`Offline mode: ${repoId}@${revision} ${what} is not in the cache at ${repoDir}. Download it once while online.`, 'offline-missing');
  if (!snapshot) throw missing('(the revision)');
  if (!existsSync(join(snapshot, 'config.json'))) throw missing('config.json');
  if (existsSync(join(snapshot, SAFETENSORS_INDEX))) {
    for (const shard of shardNames(join(snapshot, SAFETENSORS_INDEX))) if (!existsSync(join(snapshot, shard))) throw missing(shard);
  } else if (!existsSync(join(snapshot, SAFETENSORS_SINGLE))) {
    throw missing(`weights (${SAFETENSORS_SINGLE} or ${SAFETENSORS_INDEX})`);
  }
  return snapshot;
}

/**
 * Makes the model folder for `spec` (org/name[@revision]) complete in the cache and returns its path:
 * config, tokenizer files and safetensors weights (single or every shard of the index).
 */
export async function downloadModel(spec: string, options: HubOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const parsed = parseRepoId(spec);
  const repoId = parsed.repoId;
  const revision = options.revision ?? parsed.revision ?? 'main';
  const cacheDir = options.cacheDir ?? defaultCacheDir(env);
  const repoDir = repoFolder(cacheDir, repoId);
  const offline = options.offline ?? ['1', 'true', 'yes', 'on'].includes(String(env.HF_HUB_OFFLINE ?? '').toLowerCase());
  if (offline) return offlineSnapshot(repoId, repoDir, revision);

  const endpoint = (options.endpoint ?? env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  const transfer: Omit<TransferOptions, 'onBytes'> = {
    token: options.token !== undefined ? options.token : env.HF_TOKEN ?? env.HUGGING_FACE_HUB_TOKEN ?? null,
    tokenOrigin: new URL(endpoint).origin,
    retries: options.retries ?? 5,
    idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
    signal: options.signal,
    env,
  };
  const url = (rev: string, file: string) => `${endpoint}/${repoId}/resolve/${encodeURIComponent(rev)}/${file}`;

  // config.json pins the revision to a commit, so every later file comes from the same snapshot.
  let configMeta: FileMetadata | null;
  try {
    configMeta = await fetchMetadata(url(revision, 'config.json'), transfer, false);
  } catch (err) {
    // Unreachable hub (no HTTP answer at all): a complete cached copy is as good as huggingface_hub finds it.
    if (!(err instanceof HubError) || err.code !== 'network' || err.status !== undefined) throw err;
    try {
      return offlineSnapshot(repoId, repoDir, revision);
    } catch {
      throw err;
    }
  }
  const commit = configMeta?.commit && isCommit(configMeta.commit) ? configMeta.commit : isCommit(revision) ? revision : null;
  const snapshotName = commit ?? revision.replace(/[^\w.-]/g, '_');
  const snapshot = join(repoDir, 'snapshots', snapshotName);

  const fetchFile = async (file: string, optional: boolean): Promise<boolean> => {
    const dest = join(snapshot, file);
    // A file in a commit's snapshot never changes; under a branch name it may, so refetch then.
    if (commit && existsSync(dest)) return true;
    const fileUrl = url(commit ?? revision, file);
    const meta = file === 'config.json' ? configMeta : await fetchMetadata(fileUrl, transfer, optional);
    if (!meta) return false;
    const partialName = meta.etag && /^[\w-]+$/.test(meta.etag) ? meta.etag : `${snapshotName}-${file}`;
    await downloadTo(fileUrl, dest, join(repoDir, 'blobs', `${partialName}.incomplete`), meta, {
      ...transfer,
      // Metadata files have the limits they are read with; weights are read in pieces, so none.
      maxBytes: file.endsWith('.safetensors') ? undefined : modelFileLimit(file),
      onBytes: (downloaded, total) => options.onProgress?.({ file, downloaded, total }),
    });
    return true;
  };

  for (const file of MODEL_METADATA_FILES) await fetchFile(file, file !== 'config.json');
  if (await fetchFile(SAFETENSORS_INDEX, true)) {
    for (const shard of shardNames(join(snapshot, SAFETENSORS_INDEX))) await fetchFile(shard, false);
  } else if (!(await fetchFile(SAFETENSORS_SINGLE, true))) {
    throw new HubError(
      `${repoId}@${revision} has no safetensors weights (${SAFETENSORS_SINGLE} or ${SAFETENSORS_INDEX}). ` +
        'Pickled PyTorch checkpoints (*.bin) are not downloaded: loading them can run arbitrary code.',
      'no-safetensors',
    );
  }
  if (commit && revision !== commit) {
    const ref = refPath(repoDir, revision);
    mkdirSync(join(ref, '..'), { recursive: true });
    writeFileSync(ref, commit);
  }
  return snapshot;
}
