// Turns file-system failures into messages a user can act on. The store's promise: a failed write
// leaves every record already stored intact, so the messages say so.

export type StoreErrorCode = 'disk-full' | 'permission' | 'read-only' | 'locked' | 'not-found' | 'invalid' | 'io';

export class StoreError extends Error {
  constructor(
    message: string,
    readonly code: StoreErrorCode,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}

const TAILS = {
  write: ' Records already stored are safe; this change was not saved.',
  // A rewrite (compaction) saves no change of its own: its failure leaves the file as it was.
  rewrite: ' The store was left as it was: no record was lost.',
  read: '',
};

/**
 * Wraps an fs error. `action` completes "Could not ... PATH", e.g. "append to the store file";
 * `outcome` says what the message promises: a change not saved (`write`, true), a store left as it
 * was (`rewrite`), nothing (`read`, false).
 */
export function storeIoError(err: unknown, path: string, action: string, outcome: keyof typeof TAILS | boolean = 'write'): StoreError {
  if (err instanceof StoreError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  const tail = TAILS[outcome === true ? 'write' : outcome === false ? 'read' : outcome];
  const head = `Could not ${action} ${path}`;
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new StoreError(`${head}: the disk is full (${code}). Free some disk space and try again.${tail}`, 'disk-full', path, { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new StoreError(
        `${head}: permission denied (${code}). Make the folder and file writable by your user, or choose another store location (--store PATH).${tail}`,
        'permission', path, { cause: err });
    case 'EROFS':
      return new StoreError(
        `${head}: the file system is read-only (EROFS). Choose a store location on a writable disk (--store PATH).${tail}`,
        'read-only', path, { cause: err });
    case 'ENOENT':
      return new StoreError(`${head}: it does not exist (ENOENT).`, 'not-found', path, { cause: err });
    case 'EISDIR':
      return new StoreError(`${head}: it is a folder, not a file (EISDIR). Name a file there, or move the folder away.${tail}`, 'io', path, { cause: err });
    default:
      // Node's size limits (a buffer of 4 GiB, a string of 512 MiB) surface as RangeErrors that
      // name an argument, not the file: say what was too large instead.
      if (err instanceof RangeError || code === 'ERR_STRING_TOO_LONG' || code === 'ERR_FS_FILE_TOO_LARGE') {
        return new StoreError(`${head}: it is too large to read (${(err as Error).message}). Check that the path names the right file.${tail}`, 'io', path, { cause: err });
      }
      return new StoreError(`${head}: ${(err as Error)?.message ?? String(err)}.${tail}`, 'io', path, { cause: err });
  }
}
