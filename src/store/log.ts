// The on-disk log: one record per line, `<checksum> <json>\n`, where the checksum is the first 8 hex
// digits of SHA-256 over the JSON bytes. Appends are fsynced before they return; rewrites go to a
// temp file that is fsynced and renamed over the log, so a crash leaves either the old or the new
// file. A line that fails its checksum is skipped and reported; the rest stays readable.
import { constants as bufferLimits } from 'node:buffer';
import { createHash, randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { storeIoError, StoreError } from './errors';
import { isMissing, type FsLayer } from './fs-layer';
import type { Logger } from './logger';

const NEWLINE = 0x0a;
const PREFIX = 9; // 8 hex digits and a space
// A rewrite writes and flushes a big store in steps, with the lock's heartbeat between them.
const WRITE_CHUNK = 4 * 1024 * 1024;
const SYNC_EVERY = 32 * 1024 * 1024;

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

function checksum(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 8);
}

export function frameLine(value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  return Buffer.concat([Buffer.from(`${checksum(json)} `, 'ascii'), json, Buffer.from('\n')]);
}

/** Parses one line without its newline: the value, or why it is unusable. */
export function parseLine(line: Uint8Array): { value: unknown } | { error: string } {
  const head = Buffer.from(line.subarray(0, PREFIX)).toString('latin1');
  if (line.length <= PREFIX || !/^[0-9a-f]{8} $/.test(head)) return { error: 'not a store record (no checksum prefix)' };
  const json = line.subarray(PREFIX);
  if (checksum(json) !== head.slice(0, 8)) return { error: 'checksum mismatch (the bytes were damaged)' };
  try {
    return { value: JSON.parse(Buffer.from(json).toString('utf8')) };
  } catch {
    return { error: 'checksum matches but the JSON does not parse' };
  }
}

export interface LogLine {
  /** 1-based line number in the file. */
  line: number;
  offset: number;
  bytes: Buffer;
  value: unknown;
}

export interface LogProblem {
  line: number;
  offset: number;
  message: string;
  bytes: Buffer;
  /** The unfinished last line of the file (an interrupted write, or one in progress). */
  tail?: boolean;
}

export interface ScanResult {
  lines: LogLine[];
  problems: LogProblem[];
  /** Offset just after the last complete line: where the next scan starts. */
  consumed: number;
  nextLine: number;
}

/**
 * Splits `buf` (file bytes from `offset`, whose first line is number `line`) into records.
 * `progress` runs after every line: the lock's heartbeat while a 100 MB store is read.
 */
export function scanLog(buf: Buffer, offset: number, line: number, progress?: () => void): ScanResult {
  const out: ScanResult = { lines: [], problems: [], consumed: offset, nextLine: line };
  let start = 0;
  while (start < buf.length) {
    const nl = buf.indexOf(NEWLINE, start);
    const end = nl < 0 ? buf.length : nl;
    const bytes = buf.subarray(start, end);
    const at = { line: out.nextLine, offset: offset + start, bytes };
    if (bytes.length > 0) {
      const parsed = parseLine(bytes);
      // An intact record that only lacks its newline was written whole; it counts.
      if ('value' in parsed) out.lines.push({ ...at, value: parsed.value });
      else if (nl < 0) out.problems.push({ ...at, tail: true, message: 'incomplete record at the end of the file (an interrupted write)' });
      else out.problems.push({ ...at, message: parsed.error });
    }
    progress?.();
    if (nl < 0) break;
    start = nl + 1;
    out.consumed = offset + start;
    out.nextLine++;
  }
  return out;
}

/** File operations on one log file. Callers hold the store lock for append and rewrite. */
export class LogFile {
  readonly quarantinePath: string;

  constructor(readonly path: string, private readonly fs: FsLayer, private readonly logger: Logger) {
    this.quarantinePath = `${path}.corrupt`;
  }

  /** The file's identity and the bytes from `offset` on, read through one descriptor; undefined if absent. */
  readFrom(offset: number): { ino: number; size: number; bytes: Buffer } | undefined {
    let fd: number;
    try {
      fd = this.fs.openSync(this.path, 'r');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw storeIoError(err, this.path, 'read the store file', false);
    }
    try {
      const st = this.fs.fstatSync(fd);
      if (st.isDirectory()) throw Object.assign(new Error('is a folder'), { code: 'EISDIR' });
      const from = st.size >= offset ? offset : 0;
      if (st.size - from > bufferLimits.MAX_LENGTH) {
        throw new StoreError(
          `Could not read the store file ${this.path}: it is ${gib(st.size)}, more than a store can be read in one piece (${gib(bufferLimits.MAX_LENGTH)}). ` +
            'Check that --store names a preference store.', 'io', this.path);
      }
      const bytes = Buffer.alloc(st.size - from);
      let got = 0;
      while (got < bytes.length) {
        const n = this.fs.readSync(fd, bytes, got, bytes.length - got, from + got);
        if (n === 0) break;
        got += n;
      }
      return { ino: st.ino, size: from + got, bytes: bytes.subarray(0, got) };
    } catch (err) {
      throw storeIoError(err, this.path, 'read the store file', false);
    } finally {
      this.fs.closeSync(fd);
    }
  }

  /**
   * Appends framed lines and fsyncs. A torn last line left by a crash is moved to the quarantine
   * file first, so the new lines start on a line of their own. If the write fails part way, the
   * file is cut back to its previous length: what was stored stays exactly as it was.
   */
  append(lines: Buffer[]): void {
    const fs = this.fs;
    this.ensureDir();
    let fd: number;
    try {
      fd = fs.openSync(this.path, 'a+', 0o644);
    } catch (err) {
      throw storeIoError(err, this.path, 'open the store file for writing');
    }
    let size = 0;
    try {
      size = fs.fstatSync(fd).size;
      const prefix: Buffer[] = [];
      if (size > 0) size = this.repairTail(fd, size, prefix);
      const data = Buffer.concat([...prefix, ...lines]);
      let written = 0;
      while (written < data.length) written += fs.writeSync(fd, data, written, data.length - written, null);
      fs.fsyncSync(fd);
    } catch (err) {
      this.cutBack(fd, size);
      throw storeIoError(err, this.path, 'append to the store file');
    } finally {
      fs.closeSync(fd);
    }
    if (size === 0) this.syncDir();
  }

  /** Returns the length the file should have before appending; may add a newline to `prefix`. */
  private repairTail(fd: number, size: number, prefix: Buffer[]): number {
    let lastNl = -1;
    const chunk = Buffer.alloc(64 * 1024);
    for (let end = size; end > 0 && lastNl < 0; end -= chunk.length) {
      const start = Math.max(0, end - chunk.length);
      const n = this.fs.readSync(fd, chunk, 0, end - start, start);
      const i = chunk.subarray(0, n).lastIndexOf(NEWLINE);
      if (i >= 0) lastNl = start + i;
      if (start === 0) break;
    }
    if (lastNl === size - 1) return size;
    const tailStart = lastNl + 1;
    const tail = Buffer.alloc(size - tailStart);
    this.fs.readSync(fd, tail, 0, tail.length, tailStart);
    if ('value' in parseLine(tail)) {
      prefix.push(Buffer.from('\n'));
      return size;
    }
    this.quarantine([tail]);
    this.fs.ftruncateSync(fd, tailStart);
    this.logger.warn(`${this.path}: moved an incomplete last record (${tail.length} bytes, from an interrupted write) to ${this.quarantinePath}`);
    return tailStart;
  }

  private cutBack(fd: number, size: number): void {
    try {
      this.fs.ftruncateSync(fd, size);
      this.fs.fsyncSync(fd);
    } catch (err) {
      this.logger.error(`${this.path}: could not cut a failed append back to ${size} bytes (${(err as Error).message}); the next open skips the partial line`);
    }
  }

  /**
   * Atomically replaces the file's content with `lines`. `hooks.progress` runs between chunks (the
   * lock's heartbeat); `hooks.beforeCommit` runs right before the rename and may throw to give up
   * (the rewriter lost its lock: renaming now could drop another writer's records).
   */
  rewrite(lines: Buffer[], hooks: { progress?: () => void; beforeCommit?: () => void } = {}): void {
    const fs = this.fs;
    this.ensureDir();
    this.removeOldTemps();
    const temp = `${this.path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    let fd: number | undefined;
    try {
      fd = fs.openSync(temp, 'wx', 0o644);
      const data = Buffer.concat(lines);
      let written = 0;
      let synced = 0;
      while (written < data.length) {
        written += fs.writeSync(fd, data, written, Math.min(WRITE_CHUNK, data.length - written), null);
        // Flushing as it goes keeps the last fsync short, so no single step outlasts a heartbeat.
        if (written - synced >= SYNC_EVERY) {
          fs.fsyncSync(fd);
          synced = written;
        }
        hooks.progress?.();
      }
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fd = undefined;
      hooks.beforeCommit?.();
      fs.renameSync(temp, this.path);
    } catch (err) {
      if (fd !== undefined) fs.closeSync(fd);
      this.unlinkQuietly(temp);
      throw storeIoError(err, this.path, 'rewrite the store file', 'rewrite');
    }
    this.syncDir();
  }

  /** Keeps damaged bytes aside (best effort) instead of destroying them during a rewrite. */
  quarantine(chunks: Buffer[]): void {
    if (chunks.length === 0) return;
    try {
      const fd = this.fs.openSync(this.quarantinePath, 'a', 0o600);
      try {
        const data = Buffer.concat(chunks.flatMap((c) => [c, Buffer.from('\n')]));
        this.fs.writeSync(fd, data, 0, data.length, null);
        this.fs.fsyncSync(fd);
      } finally {
        this.fs.closeSync(fd);
      }
    } catch (err) {
      this.logger.warn(`could not keep ${chunks.length} damaged line(s) in ${this.quarantinePath}: ${(err as Error).message}`);
    }
  }

  removeQuarantine(): void {
    this.unlinkQuietly(this.quarantinePath);
  }

  private ensureDir(): void {
    try {
      this.fs.mkdirSync(dirname(this.path), { recursive: true });
    } catch (err) {
      throw storeIoError(err, dirname(this.path), 'create the store folder');
    }
  }

  /** Temp files of rewrites that crashed; safe to remove because rewrites run under the lock. */
  private removeOldTemps(): void {
    const prefix = `${basename(this.path)}.tmp-`;
    let names: string[];
    try {
      names = this.fs.readdirSync(dirname(this.path));
    } catch {
      return;
    }
    for (const name of names) if (name.startsWith(prefix)) this.unlinkQuietly(join(dirname(this.path), name));
  }

  /** Makes a rename or a new file durable. Not possible on every platform (Windows), hence best effort. */
  private syncDir(): void {
    try {
      const fd = this.fs.openSync(dirname(this.path), 'r');
      try {
        this.fs.fsyncSync(fd);
      } finally {
        this.fs.closeSync(fd);
      }
    } catch {
      // Directory fsync is unsupported here; the rename is still atomic.
    }
  }

  private unlinkQuietly(path: string): void {
    try {
      this.fs.unlinkSync(path);
    } catch {
      // Already gone.
    }
  }
}
