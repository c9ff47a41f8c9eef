// The store's cross-process lock: the generic lock file of src/base/file-lock.ts with the store's
// messages. Several VS Code windows (separate extension hosts) share one store, so every write and
// every rewrite runs under it; rewrites refresh its heartbeat and check they still own it before
// they rename their temp file over the store.
import { FileLock, type LockHolder } from '../base/file-lock';
import { storeIoError, StoreError } from './errors';
import type { FsLayer } from './fs-layer';
import type { Logger } from './logger';

export type { HeldLock } from '../base/file-lock';

export interface StoreLockOptions {
  fs: FsLayer;
  logger: Logger;
  /** How long to wait for a holder that shows no heartbeat before giving up. */
  timeoutMs: number;
  /** A lock without a heartbeat for this long is stale whatever its pid says. */
  staleMs: number;
}

export function storeLock(path: string, options: StoreLockOptions): FileLock {
  const seconds = Math.round(options.staleMs / 1000);
  return new FileLock(path, {
    fs: options.fs,
    timeoutMs: options.timeoutMs,
    staleMs: options.staleMs,
    warn: (message) => options.logger.warn(message),
    ioError: storeIoError,
    busy: (holder: LockHolder | undefined) => {
      const who = holder?.pid ? `process ${holder.pid} on ${holder.host}` : 'another process';
      // No advice to delete the lock: a lock whose holder ended is taken over without anyone's help,
      // and deleting a live one is exactly how a write gets lost.
      return new StoreError(
        `The store is busy: ${path} is held by ${who}, which is writing to the store. This change was not saved; records already stored are safe. ` +
          `Try again in a moment. A lock left by a process that ended is taken over automatically ` +
          `(at once on this machine, after ${seconds} s without a heartbeat otherwise).`,
        'locked', path);
    },
  });
}

/** The error for a rewrite that found its lock taken over before committing: nothing was replaced. */
export function lostLockError(path: string, what: string): StoreError {
  return new StoreError(
    `Another process took over the store's lock while ${what} ran, so the store was left as it was: no record was lost. Try again.`,
    'locked', path);
}
