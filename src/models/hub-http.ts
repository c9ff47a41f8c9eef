// One file from the Hugging Face hub's resolve endpoint: metadata from a HEAD request (as
// huggingface_hub does), then a resumable GET into a partial file, verified against the size and
// hash the hub announced, then renamed into place.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { dirname } from 'node:path';
import { DownloadError, httpRequest, MIN_BYTES_PER_WINDOW, receiveBody } from '../base/download';

export type HubErrorCode = 'not-found' | 'unauthorized' | 'gated' | 'offline-missing' | 'integrity' | 'network' | 'bad-repo-id' | 'no-safetensors' | 'cancelled';

export class HubError extends Error {
  override name = 'HubError';
  constructor(message: string, readonly code: HubErrorCode, readonly status?: number) {
    super(message);
  }
}

export interface FileMetadata {
  /** Commit the revision resolved to (X-Repo-Commit), when the server says. */
  commit: string | null;
  /** Normalized ETag: sha256 hex for LFS files (X-Linked-Etag), git blob sha1 for small files. */
  etag: string | null;
  size: number | null;
}

export interface TransferOptions {
  token: string | null;
  /** Origin the token may be sent to; redirects elsewhere (a CDN) go without it. */
  tokenOrigin: string;
  onBytes?: (downloaded: number, total: number | null) => void;
  /** Attempts to resume after a dropped connection or a refused range (416). */
  retries: number;
  /** A transfer that delivers no bytes (or under MIN_BYTES_PER_WINDOW) for this long counts as dropped. */
  idleTimeoutMs: number;
  /** Cancels every request; the partial file is kept and resumes next time. */
  signal?: AbortSignal;
  /** The file's size limit: a larger announced size is refused before its body is read, an unannounced body stops there. */
  maxBytes?: number;
  /** Where HTTPS_PROXY, HTTP_PROXY and NO_PROXY are read. */
  env: NodeJS.ProcessEnv;
}

/** A response head, its body unread (none for HEAD). */
interface HubResponse {
  status: number;
  statusText: string;
  ok: boolean;
  header(name: string): string | null;
  body: IncomingMessage;
}

const MAX_REDIRECTS = 10;

function normalizeEtag(value: string | null): string | null {
  return value ? value.replace(/^W\//, '').replace(/"/g, '') : null;
}

function headersFor(url: string, options: TransferOptions, extra: Record<string, string> = {}): Record<string, string> {
  const headers: Record<string, string> = { 'Accept-Encoding': 'identity', ...extra };
  if (options.token && new URL(url).origin === options.tokenOrigin) headers.Authorization = `Bearer ${options.token}`;
  return headers;
}

function statusError(url: string, res: HubResponse, hadToken: boolean): HubError {
  const code = res.header('x-error-code');
  if (res.status === 401) {
    return new HubError(hadToken
      ? `${url}: the hub rejected HF_TOKEN (401); check the token and that it may read this repository.`
      : `${url}: 401 Unauthorized; the repository does not exist or is private. Set HF_TOKEN to a token that can read it.`, 'unauthorized', 401);
  }
  if (res.status === 403 && code === 'GatedRepo') {
    return new HubError(`${url}: this model is gated; accept its license on the hub, then set HF_TOKEN.`, 'gated', 403);
  }
  if (res.status === 404) return new HubError(`${url}: not found (404${code ? `, ${code}` : ''}).`, 'not-found', 404);
  return new HubError(`${url}: HTTP ${res.status} ${res.statusText}.`, 'network', res.status);
}

function cancelled(url: string): HubError {
  return new HubError(`${url}: download cancelled (the partial file is kept and resumes next time).`, 'cancelled');
}

/** One request through the shared transport (proxies honoured); no redirect is followed here. */
async function request(url: string, method: 'GET' | 'HEAD', headers: Record<string, string>, options: TransferOptions): Promise<HubResponse> {
  if (options.signal?.aborted) throw cancelled(url);
  let res: IncomingMessage;
  try {
    res = await httpRequest(new URL(url), headers, { method, signal: options.signal, env: options.env }, options.idleTimeoutMs);
  } catch (err) {
    if (options.signal?.aborted) throw cancelled(url);
    throw new HubError(`${url}: ${(err as Error).message}`, 'network');
  }
  if (method === 'HEAD') res.resume();
  const status = res.statusCode ?? 0;
  const header = (name: string) => {
    const value = res.headers[name.toLowerCase()];
    return value === undefined ? null : [value].flat().join(', ');
  };
  return { status, statusText: res.statusMessage ?? '', ok: status >= 200 && status < 300, header, body: res };
}

/**
 * HEAD on the resolve URL, following only same-origin redirects (renamed repos): the hub answers
 * an LFS file with a redirect to its CDN that already carries X-Linked-Size and X-Linked-Etag.
 * Returns null for a missing file when `optional`.
 */
export async function fetchMetadata(url: string, options: TransferOptions, optional: boolean): Promise<FileMetadata | null> {
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers = headersFor(current, options);
    const res = await request(current, 'HEAD', headers, options);
    const location = res.header('location');
    const redirect = res.status >= 300 && res.status < 400 && location;
    if (redirect && new URL(location, current).origin === new URL(current).origin && !res.header('x-linked-etag')) {
      current = new URL(location, current).toString();
      continue;
    }
    if (!redirect && !res.ok) {
      if (optional && res.status === 404 && res.header('x-error-code') !== 'RepoNotFound') return null;
      throw statusError(url, res, 'Authorization' in headers);
    }
    const size = res.header('x-linked-size') ?? (redirect ? null : res.header('content-length'));
    return {
      commit: res.header('x-repo-commit'),
      etag: normalizeEtag(res.header('x-linked-etag') ?? res.header('etag')),
      size: size !== null && /^\d+$/.test(size) ? Number(size) : null,
    };
  }
  throw new HubError(`${url}: more than ${MAX_REDIRECTS} redirects.`, 'network');
}

/** GET following every redirect by hand, so the token is never sent to another origin. */
async function get(url: string, options: TransferOptions, range: number): Promise<HubResponse> {
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers = headersFor(current, options, range > 0 ? { Range: `bytes=${range}-` } : {});
    const res = await request(current, 'GET', headers, options);
    const location = res.header('location');
    if (res.status >= 300 && res.status < 400 && location) {
      res.body.resume();
      current = new URL(location, current).toString();
      continue;
    }
    if (!res.ok && res.status !== 416) {
      res.body.resume();
      throw statusError(url, res, 'Authorization' in headers);
    }
    return res;
  }
  throw new HubError(`${url}: more than ${MAX_REDIRECTS} redirects.`, 'network');
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function digest(path: string, algorithm: 'sha256' | 'sha1', prefix?: string): Promise<string> {
  const hash = createHash(algorithm);
  if (prefix) hash.update(prefix);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Checks size and, where the ETag is one, the sha256 (LFS) or git blob sha1 (small files). */
async function verify(url: string, partial: string, meta: FileMetadata): Promise<void> {
  const size = await sizeOf(partial);
  const fail = async (why: string) => {
    await rm(partial, { force: true });
    return new HubError(`${url}: download corrupted (${why}); the partial file was removed, try again.`, 'integrity');
  };
  if (meta.size !== null && size !== meta.size) throw await fail(`${size} bytes, expected ${meta.size}`);
  if (meta.etag && /^[0-9a-f]{64}$/.test(meta.etag)) {
    const sha = await digest(partial, 'sha256');
    if (sha !== meta.etag) throw await fail(`sha256 ${sha}, expected ${meta.etag}`);
  } else if (meta.etag && /^[0-9a-f]{40}$/.test(meta.etag)) {
    const sha = await digest(partial, 'sha1', `blob ${size}\0`);
    if (sha !== meta.etag) throw await fail(`git sha1 ${sha}, expected ${meta.etag}`);
  }
}

/** The length of the whole file a response carries: Content-Range's total for a 206, else Content-Length. */
function announcedTotal(res: HubResponse): number | null {
  const value = res.status === 206 ? /\/(\d+)\s*$/.exec(res.header('content-range') ?? '')?.[1] : res.header('content-length');
  return value && /^\d+$/.test(value) ? Number(value) : null;
}

/**
 * Downloads `url` to `dest` through `partial`, resuming with Range requests after dropped or stalled
 * connections (and across runs, since `partial` persists), then verifies and renames atomically.
 * Every retry, a refused range (416) included, counts against `retries`; a body is never written
 * past the size the hub announced.
 */
export async function downloadTo(url: string, dest: string, partial: string, meta: FileMetadata, options: TransferOptions): Promise<void> {
  const tooLarge = (size: number) => new HubError(`${url}: ${size} bytes, above the limit of ${options.maxBytes} bytes for this file (a damaged or hostile repository?).`, 'integrity');
  if (meta.size !== null && options.maxBytes !== undefined && meta.size > options.maxBytes) throw tooLarge(meta.size);
  await mkdir(dirname(partial), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    let have = await sizeOf(partial);
    if (meta.size !== null && have > meta.size) {
      await rm(partial, { force: true });
      have = 0;
    }
    if (meta.size !== null && have === meta.size) break;
    const res = await get(url, options, have);
    if (res.status === 416) {
      // The partial file is not a prefix the server recognizes: start over, a bounded number of times.
      res.body.resume();
      await rm(partial, { force: true });
      if (attempt >= options.retries) throw new HubError(`${url}: the server refused the range request ${attempt + 1} times (HTTP 416); giving up.`, 'network', 416);
      continue;
    }
    const resumed = res.status === 206 && (res.header('content-range') ?? '').startsWith(`bytes ${have}-`);
    const total = meta.size ?? announcedTotal(res);
    if (total !== null && options.maxBytes !== undefined && total > options.maxBytes) {
      res.body.destroy();
      throw tooLarge(total);
    }
    let outcome;
    try {
      outcome = await receiveBody(res.body, partial, {
        url, total, maxBytes: options.maxBytes, startAt: resumed ? have : 0, windowMs: options.idleTimeoutMs, signal: options.signal, onProgress: options.onBytes,
      });
    } catch (err) {
      if (!(err instanceof DownloadError)) throw err;
      if (err.code === 'cancelled') throw cancelled(url);
      if (err.code === 'disk') throw err; // says which file could not be written
      throw new HubError(err.message, err.code === 'oversize' ? 'integrity' : 'network');
    }
    if (outcome === 'complete') break;
    if (attempt >= options.retries) {
      const how = outcome === 'stalled' ? `stalled (under ${MIN_BYTES_PER_WINDOW} bytes in ${options.idleTimeoutMs / 1000} s)` : 'dropped';
      throw new HubError(`${url}: connection ${how} ${attempt + 1} times; giving up (the partial download is kept and resumes next time).`, 'network');
    }
  }
  await verify(url, partial, meta);
  await mkdir(dirname(dest), { recursive: true });
  await rename(partial, dest);
}
