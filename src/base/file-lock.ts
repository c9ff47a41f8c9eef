// A cross-process lock: an O_EXCL lock file holding the owner's pid, host and a nonce. The
// preference store (several VS Code windows share one file) and the training output folder (two
// runs must not pick the same version name) use it.
//
// The holder keeps the lock file's mtime fresh (the heartbeat) while it works, so staleness is
// "no heartbeat for staleMs", never "held for long": a 15 s compaction is not stale, a crashed
// holder is. A holder that lost its lock anyway (a deleted lock file, a pause longer than staleMs)
// finds out through owned() before it commits anything that could overwrite another writer's work.
import { randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { processAlive } from './process-alive';

/** The file operations the lock needs; the store passes its own (tests inject failures there). */
export interface LockFs {
  openSync(path: string, flags: string, mode?: number): number;
  closeSync(fd: number): void;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number;
  fstatSync(fd: number): nodeFs.Stats;
  futimesSync(fd: number, atime: Date, mtime: Date): void;
  writeFileSync(path: string, data: Uint8Array): void;
  linkSync(existing: string, newPath: string): void;
  unlinkSync(path: string): void;
  mkdirSync(path: string, options: { recursive: true }): string | undefined;
  readdirSync(path: string): string[];
}

const defaultFs: LockFs = {
  openSync: (p, flags, mode) => nodeFs.openSync(p, flags, mode),
  closeSync: (fd) => nodeFs.closeSync(fd),
  writeSync: (fd, b, o, l, pos) => nodeFs.writeSync(fd, b, o, l, pos),
  readSync: (fd, b, o, l, pos) => nodeFs.readSync(fd, b, o, l, pos),
  fstatSync: (fd) => nodeFs.fstatSync(fd),
  futimesSync: (fd, a, m) => nodeFs.futimesSync(fd, a, m),
  writeFileSync: (p, d) => nodeFs.writeFileSync(p, d),
  linkSync: (a, b) => nodeFs.linkSync(a, b),
  unlinkSync: (p) => nodeFs.unlinkSync(p),
  mkdirSync: (p, o) => nodeFs.mkdirSync(p, o),
  readdirSync: (p) => nodeFs.readdirSync(p),
};

/** Who holds a lock, for messages. `idleMs`: time since its last heartbeat. */
export interface LockHolder {
  pid?: number;
  host?: string;
  idleMs: number;
}

export interface FileLockOptions {
  fs?: LockFs;
  /** How long to wait for a holder that shows no heartbeat before giving up. */
  timeoutMs: number;
  /** A lock without a heartbeat for this long is stale whatever its pid says (guards against pid reuse). */
  staleMs: number;
  /** How often a holder refreshes its heartbeat (default: a quarter of staleMs, at most 1 s). */
  heartbeatMs?: number;
  warn?: (message: string) => void;
  /** The error for a lock still held by someone else after the wait. */
  busy: (holder: LockHolder | undefined, path: string) => Error;
  /** Wraps a file-system failure; `write`: whether the caller was about to save something. */
  ioError?: (err: unknown, path: string, action: string, write: boolean) => Error;
}

/** A lock being held. */
export interface HeldLock {
  /** Refreshes the heartbeat when one is due; cheap otherwise, so long loops call it freely. */
  beat(): void;
  /** Whether the lock file is still this holder's (refreshing the heartbeat): check it before committing. */
  owned(): boolean;
  release(): void;
}

interface Holder extends LockHolder {
  nonce?: string;
  raw: string;
  ino: number;
  mtimeMs: number;
}

// A lock file is created and then written; one with no content yet is given this long to get it.
const EMPTY_GRACE_MS = 2000;
// The private files a lock is created from live for microseconds; older ones were left by a kill.
const ORPHAN_MIN_AGE_MS = 2000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const plainIoError = (err: unknown, path: string, action: string): Error =>
  new Error(`Could not ${action} ${path}: ${(err as Error)?.message ?? String(err)}`, { cause: err });

export class FileLock {
  private readonly fs: LockFs;
  private readonly breakPath: string;
  private readonly heartbeatMs: number;
  private orphansChecked = false;

  constructor(readonly path: string, private readonly options: FileLockOptions) {
    this.fs = options.fs ?? defaultFs;
    this.breakPath = `${path}.break`;
    this.heartbeatMs = options.heartbeatMs ?? Math.min(1000, options.staleMs / 4);
  }

  /**
   * Waits for the lock. A holder whose heartbeat keeps advancing is working (a long rewrite), and a
   * lock that changes hands is a queue that moves, so the wait goes on while either happens:
   * `timeoutMs` counts from the last such sign of progress.
   */
  async acquire(): Promise<HeldLock> {
    let deadline = Date.now() + this.options.timeoutMs;
    let seen: Holder | undefined;
    for (let attempt = 0; ; attempt++) {
      const nonce = this.tryCreate(this.path);
      if (nonce) {
        if (!this.orphansChecked) this.removeOrphans();
        return this.held(nonce);
      }
      const holder = this.readHolder(this.path);
      if (holder && this.isStale(holder)) {
        this.breakStale(holder);
        continue;
      }
      const progress = holder && seen && (holder.ino !== seen.ino || holder.raw !== seen.raw || holder.mtimeMs > seen.mtimeMs);
      if (progress) deadline = Math.max(deadline, Date.now() + this.options.timeoutMs);
      seen = holder;
      if (Date.now() > deadline) throw this.options.busy(holder, this.path);
      // Jitter keeps two waiting windows from retrying in lockstep.
      await sleep(Math.min(50, 2 + attempt * 2) * (0.5 + Math.random()));
    }
  }

  /** Runs `fn` under the lock; the heartbeat runs on a timer meanwhile (for asynchronous work). */
  async with<T>(fn: (held: HeldLock) => Promise<T>): Promise<T> {
    const held = await this.acquire();
    const timer = setInterval(() => held.beat(), this.heartbeatMs);
    timer.unref();
    try {
      return await fn(held);
    } finally {
      clearInterval(timer);
      held.release();
    }
  }

  private held(nonce: string): HeldLock {
    let lastBeat = Date.now();
    let lost = false;
    const check = (): boolean => {
      if (lost) return false;
      lastBeat = Date.now();
      lost = !this.touchIfOurs(nonce);
      if (lost) this.options.warn?.(`${this.path} was taken over by another process while this one held it`);
      return !lost;
    };
    return {
      beat: () => {
        if (Date.now() - lastBeat >= this.heartbeatMs) check();
      },
      owned: check,
      release: () => {
        // Only remove our own lock; if it was taken over as stale, the file is someone else's now.
        if (!lost && this.readHolder(this.path)?.nonce === nonce) this.unlinkQuietly(this.path);
      },
    };
  }

  /** Sets the lock file's mtime to now if it still carries `nonce`; checked and touched through one descriptor. */
  private touchIfOurs(nonce: string): boolean {
    let fd: number;
    try {
      // Writable: Windows sets file times only through a handle opened for writing.
      fd = this.openForTouch();
    } catch {
      return false;
    }
    try {
      let ours: boolean;
      try {
        ours = this.parse(fd).nonce === nonce;
      } catch {
        // Unreadable: treat as lost, the safe side for a holder about to commit.
        return false;
      }
      if (!ours) return false;
      try {
        const now = new Date();
        this.fs.futimesSync(fd, now, now);
      } catch {
        // A file system without settable times: ownership still stands; staleness then counts
        // from the lock's creation, as if no heartbeat ran.
      }
      return true;
    } finally {
      this.fs.closeSync(fd);
    }
  }

  private openForTouch(): number {
    try {
      return this.fs.openSync(this.path, 'r+');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException)?.code;
      if (code !== 'EACCES' && code !== 'EPERM') throw err;
      return this.fs.openSync(this.path, 'r');
    }
  }

  /**
   * Creates the lock file; returns its nonce, or undefined when it already exists. The content is
   * written to a private file first and hard-linked into place (atomic, fails if the lock exists),
   * so a lock file is never seen empty; where hard links are unsupported, O_EXCL create and write.
   */
  private tryCreate(path: string): string | undefined {
    const nonce = randomBytes(8).toString('hex');
    const body = Buffer.from(JSON.stringify({ pid: process.pid, host: hostname(), nonce, at: new Date().toISOString() }));
    const own = `${path}.${process.pid}-${nonce}`;
    try {
      this.withFolder(() => this.fs.writeFileSync(own, body));
    } catch (err) {
      throw this.ioError(err, path, 'create the lock file', true);
    }
    try {
      this.fs.linkSync(own, path);
      return nonce;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // EEXIST: held. ENOENT: our private file went (taken for an orphan by a process that saw it
      // stall for seconds): either way, look again.
      if (code === 'EEXIST' || code === 'ENOENT') return undefined;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EXDEV') throw this.ioError(err, path, 'create the lock file', true);
      return this.createWithoutLink(path, body) ? nonce : undefined;
    } finally {
      this.unlinkQuietly(own);
    }
  }

  private createWithoutLink(path: string, body: Buffer): boolean {
    let fd: number;
    try {
      fd = this.fs.openSync(path, 'wx', 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw this.ioError(err, path, 'create the lock file', true);
    }
    try {
      this.fs.writeSync(fd, body, 0, body.length, 0);
    } catch (err) {
      this.unlinkQuietly(path);
      throw this.ioError(err, path, 'write the lock file', true);
    } finally {
      this.fs.closeSync(fd);
    }
    return true;
  }

  /** The first lock in a new folder also creates the folder. */
  private withFolder<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if ((err as NodeJS.ErrnoException)?.code !== 'ENOENT') throw err;
      this.fs.mkdirSync(dirname(this.path), { recursive: true });
      return fn();
    }
  }

  private readHolder(path: string): Holder | undefined {
    let fd: number;
    try {
      fd = this.fs.openSync(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException)?.code === 'ENOENT') return undefined;
      throw this.ioError(err, path, 'read the lock file', false);
    }
    try {
      return this.parse(fd);
    } finally {
      this.fs.closeSync(fd);
    }
  }

  private parse(fd: number): Holder {
    const st = this.fs.fstatSync(fd);
    const buf = Buffer.alloc(Math.min(st.size, 4096));
    const n = this.fs.readSync(fd, buf, 0, buf.length, 0);
    const raw = buf.subarray(0, n).toString('utf8');
    const holder: Holder = { raw, ino: st.ino, mtimeMs: st.mtimeMs, idleMs: Date.now() - st.mtimeMs };
    try {
      const parsed = JSON.parse(raw);
      if (typeof parsed.pid === 'number') holder.pid = parsed.pid;
      if (typeof parsed.host === 'string') holder.host = parsed.host;
      if (typeof parsed.nonce === 'string') holder.nonce = parsed.nonce;
    } catch {
      // Empty or partly written: judged by age below.
    }
    return holder;
  }

  private isStale(holder: Holder): boolean {
    if (holder.pid === undefined) return holder.idleMs > EMPTY_GRACE_MS;
    if (holder.idleMs > this.options.staleMs) return true;
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
      // Same file, same content, no heartbeat since: still the stale lock judged above.
      if (now && now.ino === stale.ino && now.raw === stale.raw && now.mtimeMs === stale.mtimeMs) {
        this.unlinkQuietly(this.path);
        this.removeOrphans();
        this.options.warn?.(`removed a stale lock ${this.path} left by ${stale.pid ? `process ${stale.pid}` : 'an interrupted process'}`);
      }
    } finally {
      this.unlinkQuietly(this.breakPath);
    }
  }

  /**
   * Private lock-content files (`<lock>.<pid>-<nonce>`, `<lock>.break.<pid>-<nonce>`) of processes
   * killed between creating and removing them. Checked once per lock object and after a stale lock.
   */
  private removeOrphans(): void {
    this.orphansChecked = true;
    const dir = dirname(this.path);
    const prefix = `${basename(this.path)}.`;
    let names: string[];
    try {
      names = this.fs.readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const m = name.startsWith(prefix) ? /^(?:break\.)?(\d+)-[0-9a-f]{16}$/.exec(name.slice(prefix.length)) : null;
      if (!m) continue;
      const path = join(dir, name);
      const age = this.ageOf(path);
      if (age > ORPHAN_MIN_AGE_MS && (age > this.options.staleMs || !processAlive(Number(m[1])))) this.unlinkQuietly(path);
    }
  }

  private ageOf(path: string): number {
    try {
      const fd = this.fs.openSync(path, 'r');
      try {
        return Date.now() - this.fs.fstatSync(fd).mtimeMs;
      } finally {
        this.fs.closeSync(fd);
      }
    } catch {
      return 0;
    }
  }

  private ioError(err: unknown, path: string, action: string, write: boolean): Error {
    return (this.options.ioError ?? plainIoError)(err, path, action, write);
  }

  private unlinkQuietly(path: string): void {
    try {
      this.fs.unlinkSync(path);
    } catch {
      // Already gone, or not ours to remove: either way nothing to do.
    }
  }
}
