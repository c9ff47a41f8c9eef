// A cross-process lock on the store file: an O_EXCL lock file holding the owner's pid, host and a
// nonce. Several VS Code windows (separate extension hosts) share one store, so every write and
// every compaction runs under it. Holders only keep it across synchronous code (milliseconds), so a
// lock whose owner is dead, or that is older than `staleMs`, is left over from a crash.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { storeIoError, StoreError } from './errors';
import { isMissing, type FsLayer } from './fsLayer';
import type { Logger } from './logger';
import { processAlive } from '../onnx/process-alive';

export interface LockOptions {
  fs: FsLayer;
  logger: Logger;
  /** How long to wait for another writer before giving up. */
  timeoutMs: number;
  /** A lock older than this is stale whatever its pid says (guards against pid reuse). */
  staleMs: number;
}

interface Holder {
  pid?: number;
  host?: string;
  raw: string;
  ino: number;
  ageMs: number;
}

// A lock file is created and then written; one with no content yet is given this long to get it.
const EMPTY_GRACE_MS = 2000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class FileLock {
  private readonly breakPath: string;

  constructor(readonly path: string, private readonly options: LockOptions) {
    this.breakPath = `${path}.break`;
  }

  /** Waits for the lock and returns the function that releases it. */
  async acquire(): Promise<() => void> {
    const deadline = Date.now() + this.options.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const nonce = this.tryCreate(this.path);
      if (nonce) return () => this.release(nonce);
      const holder = this.readHolder(this.path);
      if (holder && this.isStale(holder)) {
        this.breakStale(holder);
        continue;
      }
      if (Date.now() > deadline) {
        const who = holder?.pid ? `process ${holder.pid} on ${holder.host}` : 'another process';
        throw new StoreError(
          `The store is busy: ${this.path} is held by ${who}. If no other SLHF Refine window or command is running, delete that lock file and try again.`,
          'locked', this.path);
      }
      // Jitter keeps two waiting windows from retrying in lockstep.
      await sleep(Math.min(50, 2 + attempt * 2) * (0.5 + Math.random()));
    }
  }

  /**
   * Creates the lock file; returns its nonce, or undefined when it already exists. The content is
   * written to a private file first and hard-linked into place (atomic, fails if the lock exists),
   * so a lock file is never seen empty; where hard links are unsupported, O_EXCL create and write.
   */
  private tryCreate(path: string): string | undefined {
    const { fs } = this.options;
    const nonce = randomBytes(8).toString('hex');
    const body = Buffer.from(JSON.stringify({ pid: process.pid, host: hostname(), nonce, at: new Date().toISOString() }));
    const own = `${path}.${process.pid}-${nonce}`;
    try {
      this.withFolder(() => fs.writeFileSync(own, body));
    } catch (err) {
      throw storeIoError(err, path, 'create the lock file');
    }
    try {
      fs.linkSync(own, path);
      return nonce;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return undefined;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EXDEV') throw storeIoError(err, path, 'create the lock file');
      return this.createWithoutLink(path, body) ? nonce : undefined;
    } finally {
      this.unlinkQuietly(own);
    }
  }

  private createWithoutLink(path: string, body: Buffer): boolean {
    const { fs } = this.options;
    let fd: number;
    try {
      fd = fs.openSync(path, 'wx', 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw storeIoError(err, path, 'create the lock file');
    }
    try {
      fs.writeSync(fd, body, 0, body.length, 0);
    } catch (err) {
      this.unlinkQuietly(path);
      throw storeIoError(err, path, 'write the lock file');
    } finally {
      fs.closeSync(fd);
    }
    return true;
  }

  /** The first write to a new store also creates its folder. */
  private withFolder<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (!isMissing(err)) throw err;
      this.options.fs.mkdirSync(dirname(this.path), { recursive: true });
      return fn();
    }
  }

  private release(nonce: string): void {
    const holder = this.readHolder(this.path);
    // Only remove our own lock; if it was taken over as stale, the file is someone else's now.
    if (holder && holder.raw.includes(nonce)) this.unlinkQuietly(this.path);
  }

  private readHolder(path: string): Holder | undefined {
    const { fs } = this.options;
    let fd: number;
    try {
      fd = fs.openSync(path, 'r');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw storeIoError(err, path, 'read the lock file', false);
    }
    try {
      const st = fs.fstatSync(fd);
      const buf = Buffer.alloc(Math.min(st.size, 4096));
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      const raw = buf.subarray(0, n).toString('utf8');
      const holder: Holder = { raw, ino: st.ino, ageMs: Date.now() - st.mtimeMs };
      try {
        const parsed = JSON.parse(raw);
        if (typeof parsed.pid === 'number') holder.pid = parsed.pid;
        if (typeof parsed.host === 'string') holder.host = parsed.host;
      } catch {
        // Empty or partly written: judged by age below.
      }
      return holder;
    } finally {
      fs.closeSync(fd);
    }
  }

  private isStale(holder: Holder): boolean {
    if (holder.pid === undefined) return holder.ageMs > EMPTY_GRACE_MS;
    if (holder.ageMs > this.options.staleMs) return true;
    return holder.host === hostname() && !processAlive(holder.pid);
  }

  /**
   * Removes a stale lock. Several waiters may find the same stale lock at once; a second O_EXCL
   * file makes the check-and-remove exclusive, so nobody removes a fresh lock created meanwhile.
   */
  private breakStale(stale: Holder): void {
    const nonce = this.tryCreate(this.breakPath);
    if (!nonce) {
      const breaker = this.readHolder(this.breakPath);
      if (breaker && this.isStale(breaker)) this.unlinkQuietly(this.breakPath);
      return;
    }
    try {
      const now = this.readHolder(this.path);
      if (now && now.ino === stale.ino && now.raw === stale.raw) {
        this.unlinkQuietly(this.path);
        this.removeOrphans();
        this.options.logger.warn(`removed a stale lock ${this.path} left by ${stale.pid ? `process ${stale.pid}` : 'an interrupted process'}`);
      }
    } finally {
      this.unlinkQuietly(this.breakPath);
    }
  }

  /** Private lock-content files of processes killed before they could remove them. */
  private removeOrphans(): void {
    const dir = dirname(this.path);
    const prefix = `${basename(this.path)}.`;
    let names: string[];
    try {
      names = this.options.fs.readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const m = name.startsWith(prefix) ? /^(?:break\.)?(\d+)-[0-9a-f]{16}$/.exec(name.slice(prefix.length)) : null;
      if (m && !processAlive(Number(m[1]))) this.unlinkQuietly(join(dir, name));
    }
  }

  private unlinkQuietly(path: string): void {
    try {
      this.options.fs.unlinkSync(path);
    } catch {
      // Already gone, or not ours to remove: either way nothing to do.
    }
  }
}
