// Downloads one file over HTTP(S) with node's http/https modules (not fetch: node 20's fetch cannot
// use a proxy), through HTTPS_PROXY/HTTP_PROXY when set (NO_PROXY honoured), into `<dest>.partial`,
// resuming with Range requests after a dropped connection and across runs, checked against the
// announced length while it streams, then renamed into place: `dest` exists only when the whole file arrived. Its
// single request, httpRequest, is the hub client's transport too.
import { mkdir, open as openFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { dirname } from 'node:path';

export type DownloadErrorCode = 'offline' | 'not-found' | 'http' | 'incomplete' | 'cancelled' | 'proxy' | 'tls' | 'disk' | 'oversize';

export class DownloadError extends Error {
  override name = 'DownloadError';
  constructor(message: string, readonly code: DownloadErrorCode, readonly status?: number) {
    super(message);
  }
}

export interface DownloadOptions {
  onProgress?: (received: number, total: number | null) => void;
  signal?: AbortSignal;
  /** Resumes after a dropped connection before giving up (the partial file is kept either way). */
  retries?: number;
  /** A connection that delivers nothing (or under MIN_BYTES_PER_WINDOW) for this long counts as dropped. */
  idleTimeoutMs?: number;
  /** Where proxy variables are read; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Extra trusted certificates (PEM), e.g. a mirror's private CA. NODE_EXTRA_CA_CERTS works too. */
  ca?: string;
  /** The most a body without an announced length may bring (a chunked body has none). */
  maxBytes?: number;
}

const MAX_REDIRECTS = 5;
const NETWORK_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN']);
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|ERR_SSL/;

/** The proxy to use for `url`, from the environment (curl's conventions), or null. */
export function proxyFor(url: URL, env: NodeJS.ProcessEnv): URL | null {
  const value = url.protocol === 'https:' ? env.HTTPS_PROXY ?? env.https_proxy : env.HTTP_PROXY ?? env.http_proxy;
  if (!value) return null;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  for (const raw of (env.NO_PROXY ?? env.no_proxy ?? '').split(/[\s,]+/)) {
    const rule = raw.trim().toLowerCase().replace(/:\d+$/, '');
    if (!rule) continue;
    if (rule === '*') return null;
    const domain = rule.replace(/^\*?\./, '');
    if (host === domain || host.endsWith(`.${domain}`)) return null;
  }
  try {
    return new URL(/^[a-z]+:\/\//i.test(value) ? value : `http://${value}`);
  } catch {
    throw new DownloadError(`the proxy setting ${JSON.stringify(value)} is not a URL`, 'proxy');
  }
}

function proxyAuth(proxy: URL): Record<string, string> {
  if (!proxy.username) return {};
  const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { 'Proxy-Authorization': `Basic ${Buffer.from(credentials).toString('base64')}` };
}

/** Opens a CONNECT tunnel through `proxy` to the target's host and port. */
function tunnel(proxy: URL, target: URL, signal: AbortSignal | undefined, timeoutMs: number): Promise<import('node:net').Socket> {
  const authority = `${target.hostname}:${target.port || 443}`;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: proxy.hostname, port: proxy.port || 80, method: 'CONNECT', path: authority, headers: { Host: authority, ...proxyAuth(proxy) }, signal });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('proxy timed out'), { code: 'ETIMEDOUT' })));
    req.once('connect', (res, socket) => {
      if (res.statusCode === 200) return resolve(socket);
      socket.destroy();
      reject(new DownloadError(`the proxy ${proxy.host} refused to connect to ${authority} (HTTP ${res.statusCode})`, 'proxy', res.statusCode));
    });
    req.once('error', reject);
    req.end();
  });
}

/** Where a request goes and how; DownloadOptions' network part. */
export type RequestOptions = Pick<DownloadOptions, 'signal' | 'env' | 'ca'> & { method?: 'GET' | 'HEAD' };

/**
 * One request, through the proxy the environment names for `url` (redirects are the caller's):
 * the response head, its body unread. Failures are DownloadErrors that say what failed (the
 * proxy, the network, TLS, or cancelled).
 */
export async function httpRequest(url: URL, headers: Record<string, string>, options: RequestOptions, timeoutMs: number): Promise<IncomingMessage> {
  try {
    return await viaProxy(url, headers, options, timeoutMs);
  } catch (err) {
    throw describeNetworkError(url, err);
  }
}

async function viaProxy(url: URL, headers: Record<string, string>, options: RequestOptions, timeoutMs: number): Promise<IncomingMessage> {
  const proxy = proxyFor(url, options.env ?? process.env);
  try {
    return await send(url, proxy, headers, options, timeoutMs);
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (proxy && NETWORK_CODES.has(code)) throw new DownloadError(`cannot reach the proxy ${proxy.host} (${code}) set by ${url.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY'}`, 'proxy');
    throw err;
  }
}

async function send(url: URL, proxy: URL | null, headers: Record<string, string>, options: RequestOptions, timeoutMs: number): Promise<IncomingMessage> {
  let request: http.ClientRequest;
  const method = options.method ?? 'GET';
  if (proxy && url.protocol === 'http:') {
    // A plain-HTTP target goes to the proxy with the absolute URL as the request target.
    request = http.request({ method, host: proxy.hostname, port: proxy.port || 80, path: url.href, headers: { ...headers, Host: url.host, ...proxyAuth(proxy) }, signal: options.signal });
  } else if (proxy) {
    const socket = await tunnel(proxy, url, options.signal, timeoutMs);
    const secure = () => tls.connect({ socket, host: url.hostname, ...(isIP(url.hostname) ? {} : { servername: url.hostname }), ca: withDefaultCas(options.ca) });
    // No agent: with one, node would ignore createConnection and open its own (untunnelled) socket.
    request = https.request(url, { method, headers, signal: options.signal, createConnection: secure });
  } else {
    const direct = url.protocol === 'https:' ? https.request : http.request;
    request = direct(url, { method, headers, signal: options.signal, ...(options.ca ? { ca: withDefaultCas(options.ca) } : {}) });
  }
  return new Promise((resolve, reject) => {
    request.setTimeout(timeoutMs, () => request.destroy(Object.assign(new Error(`no response for ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
    request.once('response', resolve);
    request.once('error', reject);
    request.end();
  });
}

function withDefaultCas(extra: string | undefined): string[] | undefined {
  return extra ? [...tls.rootCertificates, extra] : undefined;
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

function describeNetworkError(url: URL, err: unknown): DownloadError {
  if (err instanceof DownloadError) return err;
  const code = (err as { code?: string }).code ?? '';
  if ((err as Error).name === 'AbortError') return new DownloadError(`download of ${url.href} cancelled; run again to resume`, 'cancelled');
  if (TLS_CODES.test(code)) {
    return new DownloadError(`the TLS certificate of ${url.host} was not accepted (${code}: ${(err as Error).message}); ` +
      'a proxy that inspects TLS needs its CA certificate in NODE_EXTRA_CA_CERTS', 'tls');
  }
  return new DownloadError(`cannot reach ${url.host} (${code || (err as Error).message})`, NETWORK_CODES.has(code) ? 'offline' : 'incomplete');
}

/** GET following redirects; a 2xx/206/416 response is returned with its body unread. */
async function open(url: URL, range: number, options: DownloadOptions, timeoutMs: number): Promise<IncomingMessage> {
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res = await httpRequest(current, { 'Accept-Encoding': 'identity', 'User-Agent': 'slhf-refine', ...(range > 0 ? { Range: `bytes=${range}-` } : {}) }, options, timeoutMs);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      current = new URL(res.headers.location, current);
      continue;
    }
    if ((status >= 200 && status < 300) || status === 416) return res;
    res.resume();
    if (status === 404 || status === 410) throw new DownloadError(`${url.href}: not found (HTTP ${status})`, 'not-found', status);
    throw new DownloadError(`${url.href}: HTTP ${status} ${res.statusMessage ?? ''}`.trim(), 'http', status);
  }
  throw new DownloadError(`${url.href}: more than ${MAX_REDIRECTS} redirects`, 'http');
}

/** The total length after the slash of a Content-Range header (206 and 416 responses both carry it). */
function rangeTotal(res: IncomingMessage): number | null {
  const m = /\/(\d+)\s*$/.exec(res.headers['content-range'] ?? '');
  return m ? Number(m[1]) : null;
}

/**
 * A window of the idle timeout in which fewer bytes than this arrive counts as a stall: a server that
 * trickles a byte at a time is never idle, so a socket timeout alone would wait on it forever.
 */
export const MIN_BYTES_PER_WINDOW = 16 * 1024;

export interface ReceiveOptions {
  /** For messages. */
  url: string;
  /** Bytes the whole file has when announced: a body that runs past it is stopped before it is written. */
  total: number | null;
  /** Without an announced size, the most the file may grow to (same stop). */
  maxBytes?: number;
  /** Bytes already in `partial` (appended to); 0 truncates it. */
  startAt: number;
  /** Stall window: see MIN_BYTES_PER_WINDOW. */
  windowMs: number;
  signal?: AbortSignal;
  onProgress?: (received: number, total: number | null) => void;
}

/** How a body ended when it did not throw: whole, or cut short (by the server or as a stall; resume either). */
export type BodyOutcome = 'complete' | 'dropped' | 'stalled';

/**
 * Appends a response body to `partial`, each chunk written before the next is read, so that
 * everything that arrived before a dropped connection is kept. The announced size is enforced as the
 * body streams ('oversize', the partial file removed). Shared by this downloader and the hub client.
 */
export async function receiveBody(res: IncomingMessage, partial: string, options: ReceiveOptions): Promise<BodyOutcome> {
  let file: FileHandle;
  try {
    file = await openFile(partial, options.startAt > 0 ? 'a' : 'w');
  } catch (err) {
    res.destroy();
    throw new DownloadError(`cannot write ${partial}: ${(err as Error).message}`, 'disk');
  }
  let received = options.startAt;
  let mark = received;
  let stalled = false;
  const watchdog = setInterval(() => {
    if (received - mark < MIN_BYTES_PER_WINDOW && !res.complete) {
      stalled = true;
      res.destroy();
    }
    mark = received;
  }, options.windowMs);
  const cancel = () => res.destroy();
  options.signal?.addEventListener('abort', cancel, { once: true });
  let outcome: BodyOutcome = 'complete';
  let oversize = false;
  const cap = options.total ?? options.maxBytes ?? null;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      if (cap !== null && received + chunk.length > cap) {
        oversize = true;
        res.destroy();
        break;
      }
      try {
        await file.write(chunk);
      } catch (err) {
        res.destroy();
        throw new DownloadError(`cannot write ${partial}: ${(err as Error).message}`, 'disk');
      }
      received += chunk.length;
      options.onProgress?.(received, options.total);
      if (options.signal?.aborted) break;
    }
  } catch (err) {
    if (err instanceof DownloadError) throw err;
    outcome = stalled ? 'stalled' : 'dropped';
  } finally {
    clearInterval(watchdog);
    options.signal?.removeEventListener('abort', cancel);
    await file.close();
  }
  if (options.signal?.aborted) {
    res.destroy();
    throw new DownloadError(`download of ${options.url} cancelled; run again to resume`, 'cancelled');
  }
  // A body destroyed by the watchdog may end its iteration without an error: still a stall.
  if (stalled) outcome = 'stalled';
  if (oversize) {
    await rm(partial, { force: true });
    const what = options.total !== null ? `the ${options.total} bytes it announced` : `the ${cap} bytes allowed for this file`;
    throw new DownloadError(`${options.url}: the server sent more than ${what}; the partial file was removed`, 'oversize');
  }
  return outcome;
}

/**
 * Downloads `url` to `dest`. Throws DownloadError: 'offline' (host unreachable), 'not-found' (404/410),
 * 'http' (other statuses), 'incomplete' (still short after the retries; run again to resume),
 * 'cancelled' (signal), 'proxy' (bad or unreachable proxy), 'tls' (certificate refused), 'disk',
 * 'oversize' (a body longer than announced). A slow trickle counts as a drop (see MIN_BYTES_PER_WINDOW).
 */
export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<{ bytes: number; resumedFrom: number }> {
  const target = new URL(url);
  const partial = `${dest}.partial`;
  const retries = options.retries ?? 3;
  const timeoutMs = options.idleTimeoutMs ?? 30_000;
  await mkdir(dirname(dest), { recursive: true });
  const resumedFrom = await sizeOf(partial);
  for (let attempt = 0; ; attempt++) {
    const have = await sizeOf(partial);
    let res: IncomingMessage;
    try {
      res = await open(target, have, options, timeoutMs);
    } catch (err) {
      // A connection reset or timeout before the response is a drop like any other.
      if (err instanceof DownloadError && err.code === 'incomplete' && attempt < retries) continue;
      throw err;
    }
    if (res.statusCode === 416) {
      res.resume();
      // Already complete from an earlier run, or not a prefix of what the server has now.
      if (rangeTotal(res) === have && have > 0) break;
      await rm(partial, { force: true });
      if (attempt >= retries) throw new DownloadError(`${url}: the server refused every range request`, 'http', 416);
      continue;
    }
    const resumed = res.statusCode === 206 && (res.headers['content-range'] ?? '').startsWith(`bytes ${have}-`);
    if (res.statusCode === 206 && !resumed) {
      // A part other than the one asked for cannot extend the file: start it over.
      res.destroy();
      await rm(partial, { force: true });
      if (attempt >= retries) throw new DownloadError(`${url}: the server answered with the wrong range (${res.headers['content-range'] ?? 'none'})`, 'http', 206);
      continue;
    }
    const length = Number(res.headers['content-length']);
    const total = resumed ? rangeTotal(res) : Number.isFinite(length) && res.headers['content-length'] !== undefined ? length : null;
    const outcome = await receiveBody(res, partial, { url, total, maxBytes: options.maxBytes, startAt: resumed ? have : 0, windowMs: timeoutMs, signal: options.signal, onProgress: options.onProgress });
    const size = await sizeOf(partial);
    if (outcome === 'complete' && (total === null || size === total)) break;
    if (attempt >= retries) {
      const got = total === null ? `${size} bytes` : `${size} of ${total} bytes`;
      const how = outcome === 'stalled' ? `stalled (under ${MIN_BYTES_PER_WINDOW} bytes in ${timeoutMs / 1000} s)` : 'dropped';
      throw new DownloadError(`${url}: the connection ${how} ${attempt + 1} times (${got} received); run again to resume`, 'incomplete');
    }
  }
  try {
    await rename(partial, dest);
  } catch (err) {
    throw new DownloadError(`cannot write ${dest}: ${(err as Error).message}`, 'disk');
  }
  return { bytes: await sizeOf(dest), resumedFrom };
}
