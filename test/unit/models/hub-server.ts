// A local stand-in for the Hugging Face hub: /{repo}/resolve/{revision}/{file}, LFS files redirected
// (302) to a separate CDN server with X-Linked-Etag/X-Linked-Size, small files served directly with
// their git blob sha1 as ETag, Range requests, private repos, and injectable faults.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface RequestLog {
  server: 'hub' | 'cdn';
  method: string;
  path: string;
  range: string | null;
  authorization: string | null;
}

export interface FakeRepo {
  files: Map<string, Buffer>;
  /** Files served through the CDN redirect, as the hub does for LFS files (safetensors). */
  lfs: (file: string) => boolean;
  /** Requests need `Authorization: Bearer <token>`. */
  token?: string;
}

export interface Faults {
  /**
   * File name -> bytes after which the next CDN GET of that file drops the connection (once each),
   * as soon as the test calls `FakeHub.releaseDrop()`.
   */
  dropAfter: Map<string, number>;
  /** File name -> bytes served instead of the real content (announced hash stays the real one). */
  corrupt: Map<string, Buffer>;
  /** File name -> an ETag to announce instead of the real one. */
  wrongEtag: Map<string, string>;
}

export const COMMIT = 'c0ffee'.padEnd(40, '0');

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const gitSha1 = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function sendBody(req: IncomingMessage, res: ServerResponse, body: Buffer, headers: Record<string, string>, dropAfter?: number, dropWhen?: Promise<void>): void {
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const start = range ? Number(range[1]) : 0;
  if (start > body.length) {
    res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
    return;
  }
  const part = body.subarray(start);
  res.writeHead(range ? 206 : 200, {
    ...headers,
    'Content-Length': String(part.length),
    ...(range ? { 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
  });
  if (req.method === 'HEAD') {
    res.end();
  } else if (dropAfter !== undefined && dropAfter < part.length) {
    // Close only once the client has consumed the bytes: a fetch body stream that errors discards
    // whatever it had queued but not yet handed out.
    res.write(part.subarray(0, dropAfter), () => void dropWhen?.then(() => res.socket?.destroy()));
  } else {
    res.end(part);
  }
}

export class FakeHub {
  readonly log: RequestLog[] = [];
  readonly repos = new Map<string, FakeRepo>();
  readonly faults: Faults = { dropAfter: new Map(), corrupt: new Map(), wrongEtag: new Map() };
  hubUrl = '';
  cdnUrl = '';
  private readonly hub = createServer((req, res) => this.serveHub(req, res));
  private readonly cdn = createServer((req, res) => this.serveCdn(req, res));
  private readonly blobs = new Map<string, { file: string; body: Buffer }>();
  private release: () => void = () => undefined;
  private dropGate = this.newGate();
  /** Repo id -> the id it was renamed to; the hub answers with a relative redirect. */
  readonly renamed = new Map<string, string>();

  private newGate(): Promise<void> {
    return new Promise<void>((resolve) => (this.release = resolve));
  }

  /** Lets the pending dropAfter fault cut its connection; until then it stalls after its bytes. */
  releaseDrop(): void {
    this.release();
    this.dropGate = this.newGate();
  }

  async start(): Promise<this> {
    this.hubUrl = await listen(this.hub);
    this.cdnUrl = await listen(this.cdn);
    return this;
  }

  async stop(): Promise<void> {
    this.hub.closeAllConnections();
    this.cdn.closeAllConnections();
    await Promise.all([new Promise((r) => this.hub.close(r)), new Promise((r) => this.cdn.close(r))]);
  }

  private record(server: RequestLog['server'], req: IncomingMessage): void {
    this.log.push({ server, method: req.method ?? '', path: req.url ?? '', range: req.headers.range ?? null, authorization: req.headers.authorization ?? null });
  }

  private serveHub(req: IncomingMessage, res: ServerResponse): void {
    this.record('hub', req);
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(req.url ?? '');
    const renamed = m && this.renamed.get(m[1]);
    if (renamed) {
      res.writeHead(307, { Location: `/${renamed}/resolve/${m[2]}/${m[3]}` }).end();
      return;
    }
    const repo = m && this.repos.get(m[1]);
    if (!m || !repo) {
      res.writeHead(404, { 'X-Error-Code': 'RepoNotFound' }).end();
      return;
    }
    if (repo.token && req.headers.authorization !== `Bearer ${repo.token}`) {
      res.writeHead(401, { 'X-Error-Code': 'RepoNotFound' }).end();
      return;
    }
    const [, , revision, file] = m;
    if (revision !== 'main' && revision !== COMMIT) {
      res.writeHead(404, { 'X-Error-Code': 'RevisionNotFound' }).end();
      return;
    }
    const body = repo.files.get(file);
    if (!body) {
      res.writeHead(404, { 'X-Error-Code': 'EntryNotFound' }).end();
      return;
    }
    if (repo.lfs(file)) {
      const hash = sha256(body);
      this.blobs.set(hash, { file, body: this.faults.corrupt.get(file) ?? body });
      res.writeHead(302, {
        Location: `${this.cdnUrl}/blobs/${hash}?sig=x`,
        'X-Repo-Commit': COMMIT,
        'X-Linked-Etag': `"${this.faults.wrongEtag.get(file) ?? hash}"`,
        'X-Linked-Size': String(body.length),
        ETag: `"${gitSha1(Buffer.from('pointer'))}"`,
      }).end();
      return;
    }
    sendBody(req, res, this.faults.corrupt.get(file) ?? body, { 'X-Repo-Commit': COMMIT, ETag: `"${this.faults.wrongEtag.get(file) ?? gitSha1(body)}"` });
  }

  private serveCdn(req: IncomingMessage, res: ServerResponse): void {
    this.record('cdn', req);
    const blob = this.blobs.get(/^\/blobs\/([0-9a-f]{64})/.exec(req.url ?? '')?.[1] ?? '');
    if (!blob) {
      res.writeHead(404).end();
      return;
    }
    const drop = req.method === 'GET' ? this.faults.dropAfter.get(blob.file) : undefined;
    if (drop !== undefined) this.faults.dropAfter.delete(blob.file);
    sendBody(req, res, blob.body, { ETag: `"${sha256(blob.body)}"` }, drop, this.dropGate);
  }
}
