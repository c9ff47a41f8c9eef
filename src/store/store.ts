// The preference store: records in an append-only checksummed log (log.ts), an in-memory index
// that follows the file incrementally, and writes under a cross-process lock (lock.ts). The newest
// line of a record id wins; deletions rewrite the file so deleted texts leave the disk. No write
// that resolved is ever lost: a rewrite keeps the lock's heartbeat fresh and renames its temp file
// over the store only while it still owns the lock.
import { randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from './errors';
import { nodeFs, type FsLayer } from './fs-layer';
import { lostLockError, storeLock, type HeldLock } from './lock';
import { frameLine, LogFile, scanLog, type LogProblem, type ScanResult } from './log';
import { createLogger, type Logger } from './logger';
import { upgradeRecord } from './migrate';
import { pairsOf, type PreferencePair } from './pairs';
import { computeStats, listSessions, type Page, type SessionQuery, type StoreStats } from './query';
import { SCHEMA_VERSION, type Decision, type FollowerRound, type SessionRecord, type StoreRecord } from './schema';
import { SchemaError, validateRecord } from './validate';

export const STORE_FILE_NAME = 'slhf-store.jsonl';

export interface StoreOptions {
  logger?: Logger;
  /** File operations; tests inject failures here. */
  fs?: FsLayer;
  /** How long a write waits for another window's write that shows no heartbeat (default 10 s). */
  lockTimeoutMs?: number;
  /** A lock without a heartbeat for this long is stale whatever its owner (default 60 s). */
  staleLockMs?: number;
  /** Compact when the log is over this size and more than half of it is superseded (default 4 MiB). */
  compactAboveBytes?: number;
  now?: () => Date;
}

/** A problem found while reading: the line was skipped, everything else is readable. */
export interface StoreWarning {
  line: number;
  offset: number;
  message: string;
}

/** Fields a new session needs; the store fills id (unless given), times, rounds and decision. */
export type NewSession = Omit<SessionRecord, 'kind' | 'schemaVersion' | 'id' | 'createdAt' | 'updatedAt' | 'rounds' | 'decision'> &
  Partial<Pick<SessionRecord, 'id' | 'rounds' | 'decision'>>;

export interface PutManyResult {
  added: number;
  updated: number;
  /** Already present with the same content, or present in a newer version. */
  unchanged: number;
}

/**
 * `location` is a store folder (the file inside is slhf-store.jsonl) or a file path ending in
 * .jsonl. The extension passes its global storage folder.
 */
export function resolveStorePath(location: string): string {
  if (existsSync(location) && statSync(location).isDirectory()) return join(location, STORE_FILE_NAME);
  return location.endsWith('.jsonl') ? location : join(location, STORE_FILE_NAME);
}

interface Entry {
  record: StoreRecord;
  bytes: number;
}

export class PreferenceStore {
  readonly path: string;
  private readonly fs: FsLayer;
  private readonly logger: Logger;
  private readonly log: LogFile;
  private readonly lock: ReturnType<typeof storeLock>;
  /** The lock while this instance holds it: long work refreshes its heartbeat. */
  private held: HeldLock | undefined;
  private readonly compactAbove: number;
  private readonly now: () => Date;
  private index = new Map<string, Entry>();
  private ino = -1;
  private offset = 0;
  private nextLine = 1;
  private totalBytes = 0;
  private liveBytes = 0;
  private problems: StoreWarning[] = [];
  private reportedTailAt = -1;
  /** The last complete line read, and where it starts. */
  private anchor: { offset: number; bytes: Buffer } | undefined;

  private constructor(location: string, options: StoreOptions) {
    this.path = resolveStorePath(location);
    this.fs = options.fs ?? nodeFs;
    this.logger = options.logger ?? createLogger();
    this.now = options.now ?? (() => new Date());
    this.compactAbove = options.compactAboveBytes ?? 4 * 1024 * 1024;
    this.log = new LogFile(this.path, this.fs, this.logger);
    this.lock = storeLock(`${this.path}.lock`, {
      fs: this.fs, logger: this.logger, timeoutMs: options.lockTimeoutMs ?? 10_000, staleMs: options.staleLockMs ?? 60_000,
    });
  }

  /** Opens (without creating) the store; damaged lines are skipped and listed in `warnings`. */
  static async open(location: string, options: StoreOptions = {}): Promise<PreferenceStore> {
    const store = new PreferenceStore(location, options);
    store.refreshSync();
    return store;
  }

  /** Problems found in the current file (reset when another process rewrites it). */
  get warnings(): readonly StoreWarning[] {
    return this.problems;
  }

  /** Picks up what other windows wrote since the last read. */
  async refresh(): Promise<void> {
    this.refreshSync();
  }

  private refreshSync(): void {
    // Reading from the start of the last line seen checks that it is still there: an inode number
    // alone can be reused by a later compaction, and then the old offset would point mid-record.
    const from = this.anchor ? this.anchor.offset : this.offset;
    let read = this.log.readFrom(from);
    const sameFile = read !== undefined && read.ino === this.ino && read.size - read.bytes.length === from &&
      (!this.anchor || read.bytes.subarray(0, this.anchor.bytes.length).equals(this.anchor.bytes));
    if (read && !sameFile) {
      // Another process compacted or the file shrank: read it again from the start.
      this.reset(read.ino);
      if (from !== 0) read = this.log.readFrom(0);
      if (read) this.ino = read.ino;
    }
    if (!read) {
      this.reset(-1);
      return;
    }
    const fresh = read.bytes.subarray(this.offset - (read.size - read.bytes.length));
    this.apply(scanLog(fresh, this.offset, this.nextLine, this.beat));
    const end = this.offset - (read.size - read.bytes.length);
    if (end > 0) {
      const start = end >= 2 ? read.bytes.lastIndexOf(0x0a, end - 2) + 1 : 0;
      this.anchor = { offset: read.size - read.bytes.length + start, bytes: Buffer.from(read.bytes.subarray(start, end)) };
    }
  }

  private reset(ino: number): void {
    this.index = new Map();
    this.ino = ino;
    this.offset = 0;
    this.nextLine = 1;
    this.totalBytes = 0;
    this.liveBytes = 0;
    this.problems = [];
    this.reportedTailAt = -1;
    this.anchor = undefined;
  }

  private apply(scan: ScanResult): void {
    for (const line of scan.lines) {
      this.beat();
      try {
        const record = upgradeRecord(line.value);
        const previous = this.index.get(record.id);
        if (previous) this.liveBytes -= previous.bytes;
        // Re-inserted, so iteration follows the latest writes (the order compaction keeps too).
        this.index.delete(record.id);
        this.index.set(record.id, { record, bytes: line.bytes.length + 1 });
        this.liveBytes += line.bytes.length + 1;
      } catch (err) {
        if (!(err instanceof SchemaError)) throw err;
        this.warn({ line: line.line, offset: line.offset, message: `unreadable record, skipped and kept on disk: ${err.message}` });
      }
    }
    for (const p of scan.problems) {
      // A tail is re-read on every refresh until it is finished or repaired; report it once.
      if (p.tail && p.offset === this.reportedTailAt) continue;
      if (p.tail) this.reportedTailAt = p.offset;
      this.warn({ line: p.line, offset: p.offset, message: `${p.message}; skipped (${p.bytes.length} bytes)` });
    }
    this.totalBytes += scan.consumed - this.offset;
    this.offset = scan.consumed;
    this.nextLine = scan.nextLine;
  }

  private warn(w: StoreWarning): void {
    this.problems.push(w);
    this.logger.warn(`${this.path} line ${w.line} (byte ${w.offset}): ${w.message}`);
  }

  /**
   * Runs `fn` under the cross-process lock. `fn` is synchronous: milliseconds for an append, seconds
   * for rewriting a big store, during which `beat` keeps the lock's heartbeat fresh.
   */
  private async locked<T>(fn: () => T): Promise<T> {
    const held = await this.lock.acquire();
    this.held = held;
    try {
      this.refreshSync();
      return fn();
    } finally {
      this.held = undefined;
      held.release();
    }
  }

  /** Refreshes the lock's heartbeat when one is due (a no-op outside the lock). */
  private readonly beat = (): void => this.held?.beat();

  private appendSync(records: StoreRecord[]): void {
    if (records.length === 0) return;
    this.log.append(records.map(frameLine));
    this.refreshSync();
    if (this.totalBytes > this.compactAbove && this.totalBytes > 2 * this.liveBytes) {
      try {
        this.compactSync();
      } catch (err) {
        // The records are durable already; a compaction that could not run (full disk, lost lock)
        // leaves the log as it was and runs again after a later write.
        this.logger.warn(`${this.path}: the change was saved, but the automatic compaction that followed failed: ${(err as Error).message}`);
      }
    }
  }

  /** Gives up a rewrite (before its rename) if another process took the lock meanwhile. */
  private commitCheck(what: string): () => void {
    return () => {
      if (this.held && !this.held.owned()) throw lostLockError(this.path, what);
    };
  }

  /** Writes a record (insert or replace by id). Resolves once it is durable on disk. */
  async put(record: StoreRecord): Promise<void> {
    const checked = this.check(record);
    await this.locked(() => this.appendSync([checked]));
  }

  /** Writes many records with one fsync; a session already stored in a newer version is kept. */
  async putMany(records: StoreRecord[]): Promise<PutManyResult> {
    const checked = records.map((r) => this.check(r));
    return this.locked(() => {
      const result: PutManyResult = { added: 0, updated: 0, unchanged: 0 };
      const fresh = new Map<string, StoreRecord>();
      for (const r of checked) {
        const current = fresh.get(r.id) ?? this.index.get(r.id)?.record;
        if (current && alreadyStored(current, r)) result.unchanged++;
        else {
          if (current) result.updated++;
          else result.added++;
          fresh.set(r.id, r);
        }
      }
      this.appendSync([...fresh.values()]);
      return result;
    });
  }

  private check(record: StoreRecord): StoreRecord {
    try {
      return validateRecord(record);
    } catch (err) {
      throw new StoreError(`Refusing to store an invalid record (${record?.id ?? 'no id'}): ${(err as Error).message}`, 'invalid', this.path);
    }
  }

  /** Starts a session record; returns it as stored. */
  async createSession(init: NewSession): Promise<SessionRecord> {
    const at = this.now().toISOString();
    const record: SessionRecord = {
      rounds: [], decision: { kind: 'pending' }, ...init,
      kind: 'session', schemaVersion: SCHEMA_VERSION, id: init.id ?? randomUUID(), createdAt: at, updatedAt: at,
    };
    await this.put(record);
    return record;
  }

  /** Read-modify-write of a session under the lock, so two windows cannot lose each other's update. */
  async updateSession(id: string, change: (record: SessionRecord) => SessionRecord): Promise<SessionRecord> {
    return this.locked(() => {
      const current = this.index.get(id)?.record;
      if (current?.kind !== 'session') throw new StoreError(`No refinement session ${id} in ${this.path}.`, 'not-found', this.path);
      const next = { ...change(structuredClone(current)), updatedAt: this.now().toISOString() };
      this.appendSync([this.check(next)]);
      return next;
    });
  }

  addRound(id: string, round: FollowerRound): Promise<SessionRecord> {
    return this.updateSession(id, (r) => ({ ...r, rounds: [...r.rounds, round] }));
  }

  /** Records the user's decision. Times default to now. */
  decide(id: string, decision: Decision): Promise<SessionRecord> {
    return this.updateSession(id, (r) => ({ ...r, decision }));
  }

  async get(id: string): Promise<StoreRecord | undefined> {
    this.refreshSync();
    return this.index.get(id)?.record;
  }

  /**
   * Intact lines this version cannot read (written by a newer version, most likely), as stored. They
   * stay on disk through compaction, and a `full` export carries them too.
   */
  async unreadableRecords(): Promise<unknown[]> {
    const read = this.log.readFrom(0);
    if (!read) return [];
    return scanLog(read.bytes, 0, 1).lines.map((l) => l.value).filter((value) => !readable(value));
  }

  /** Every record (sessions and imported pairs), in file order of their latest write. */
  async records(): Promise<StoreRecord[]> {
    this.refreshSync();
    return [...this.index.values()].map((e) => e.record);
  }

  async list(query: SessionQuery = {}): Promise<Page<SessionRecord>> {
    return listSessions(await this.records(), query);
  }

  async stats(): Promise<StoreStats> {
    return computeStats(await this.records());
  }

  /** The training pairs every decided session and imported pair implies. */
  async pairs(filter: { workspace?: string; withBehaviourLogprobs?: boolean } = {}): Promise<PreferencePair[]> {
    return (await this.records())
      .flatMap(pairsOf)
      .filter((p) => (filter.workspace === undefined || p.workspace === filter.workspace) &&
        (filter.withBehaviourLogprobs === undefined || p.hasBehaviourLogprobs === filter.withBehaviourLogprobs));
  }

  /** Deletes one record; the file is rewritten so its text leaves the disk. False if absent. */
  async delete(id: string): Promise<boolean> {
    return this.locked(() => {
      if (!this.index.has(id)) return false;
      this.compactSync(new Set([id]), 'a delete');
      return true;
    });
  }

  /** Deletes every record, including damaged lines kept aside. Returns how many records there were. */
  async deleteAll(): Promise<number> {
    return this.locked(() => {
      const count = this.index.size;
      this.log.rewrite([], { beforeCommit: this.commitCheck('deleting every record') });
      this.log.removeQuarantine();
      this.refreshSync();
      return count;
    });
  }

  /** Rewrites the log with only the latest version of each record, in the current schema. */
  async compact(): Promise<void> {
    await this.locked(() => this.compactSync());
  }

  private compactSync(drop: Set<string> = new Set(), what = 'a compaction'): void {
    // Read the whole file again: the index holds upgraded records, not the unreadable lines to keep.
    const read = this.log.readFrom(0);
    if (!read) return;
    const scan = scanLog(read.bytes, 0, 1, this.beat);
    const latest = new Map<string, Buffer>();
    const keep: Buffer[] = [];
    for (const line of scan.lines) {
      this.beat();
      try {
        const record = upgradeRecord(line.value);
        latest.delete(record.id); // re-insert so the order follows the latest write
        if (!drop.has(record.id)) latest.set(record.id, frameLine(record));
      } catch {
        // Intact but unreadable here (e.g. written by a newer version): it is not ours to drop.
        keep.push(Buffer.concat([line.bytes, Buffer.from('\n')]));
      }
    }
    const damaged: LogProblem[] = scan.problems;
    this.log.quarantine(damaged.map((p) => p.bytes));
    this.log.rewrite([...keep, ...latest.values()], { progress: this.beat, beforeCommit: this.commitCheck(what) });
    if (damaged.length > 0) this.logger.warn(`${this.path}: compaction moved ${damaged.length} damaged line(s) to ${this.log.quarantinePath}`);
    this.reset(-1);
    this.refreshSync();
  }
}

/** Whether this version reads a stored value (a newer version's record is refused with a SchemaError). */
function readable(value: unknown): boolean {
  try {
    upgradeRecord(value);
    return true;
  } catch (err) {
    if (err instanceof SchemaError) return false;
    throw err;
  }
}

/**
 * Whether writing `incoming` over `current` (same id) would add nothing: the same record, a session
 * already stored in a newer version, or an imported pair (its id is a hash of its prompt, chosen and
 * rejected, so the same id is the same pair; a re-import differs only in its import time).
 */
function alreadyStored(current: StoreRecord, incoming: StoreRecord): boolean {
  if (current.kind === 'imported-pair' && incoming.kind === 'imported-pair') return true;
  if (current.kind === 'session' && incoming.kind === 'session' && Date.parse(current.updatedAt) > Date.parse(incoming.updatedAt)) return true;
  return JSON.stringify(current) === JSON.stringify(incoming);
}

