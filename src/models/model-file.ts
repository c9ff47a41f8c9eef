// Reading a file of a model folder (config, tokenizer, chat template, index, adapter config, weights).
// A folder comes from a download or a user, so a file may not be what its name says: a symlink to
// /dev/zero reads forever, a FIFO blocks the open until a writer appears (forever), a huge
// tokenizer.json fills memory. Each file must be a regular file under its size limit, checked on the
// open descriptor (so a swap after the check cannot slip through) before a byte is read.
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';

/** Byte limits, well above real files (the largest tokenizer.json we know of is about 35 MB). Listed in docs/limits.md. */
export const MODEL_FILE_LIMITS = {
  /** tokenizer.json: vocabulary and merges. */
  tokenizer: 128 * 1024 * 1024,
  /** Every other metadata file: config, generation config, tokenizer config, chat template, index, adapter config. */
  metadata: 16 * 1024 * 1024,
} as const;

/** A model file that is not a regular file, or is larger than its limit. */
export class ModelFileError extends Error {
  override name = 'ModelFileError';
  constructor(message: string, readonly code: 'not-regular' | 'too-large') {
    super(message);
  }
}

/** The limit for a metadata file by its name. */
export function modelFileLimit(path: string): number {
  return basename(path) === 'tokenizer.json' ? MODEL_FILE_LIMITS.tokenizer : MODEL_FILE_LIMITS.metadata;
}

// Opening a FIFO for reading blocks until a writer opens it; non-blocking returns at once, and on a
// regular file the flag changes nothing. Windows has no such flag (and no FIFOs to open this way).
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

function kind(stats: Stats): string {
  if (stats.isDirectory()) return 'a folder';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  if (stats.isSocket()) return 'a socket';
  return 'not a file';
}

/** Throws unless `stats` is a regular file of at most `maxBytes`. */
function check(path: string, stats: Stats, maxBytes: number): void {
  if (!stats.isFile()) throw new ModelFileError(`${path} is ${kind(stats)}, not a regular file; a model folder holds plain files (symlinks to them are fine).`, 'not-regular');
  if (stats.size > maxBytes) {
    throw new ModelFileError(`${path} is ${stats.size} bytes, above the limit of ${maxBytes} bytes for this file (a damaged or hostile model folder?).`, 'too-large');
  }
}

/** Checks a file without reading it (e.g. before a copy or before another library reads it). */
export function checkModelFile(path: string, maxBytes = modelFileLimit(path)): void {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (err) {
    // Listed in its folder but not there: a symlink whose target is gone (an interrupted hub download).
    if ((err as { code?: string }).code === 'ENOENT') throw new ModelFileError(`${path} is a symlink to a missing file; download the model again.`, 'not-regular');
    throw err;
  }
  check(path, stats, maxBytes);
}

/** A metadata file's text, read only once it is known to be a regular file under `maxBytes`. */
export function readModelText(path: string, maxBytes = modelFileLimit(path)): string {
  const fd = openSync(path, OPEN_FLAGS);
  try {
    const stats = fstatSync(fd);
    check(path, stats, maxBytes);
    // One byte more than the size: a file that grew since the stat still cannot pass the limit.
    const buffer = Buffer.alloc(Math.min(stats.size, maxBytes) + 1);
    let length = 0;
    for (let n; length < buffer.length && (n = readSync(fd, buffer, length, buffer.length - length, length)) > 0;) length += n;
    if (length > maxBytes) throw new ModelFileError(`${path} grew past the limit of ${maxBytes} bytes while it was read.`, 'too-large');
    return buffer.toString('utf8', 0, length);
  } finally {
    closeSync(fd);
  }
}

/** Opens a weights file for positioned reads: regular files only, any size (nothing is read whole). */
export async function openModelFile(path: string): Promise<FileHandle> {
  const handle = await open(path, OPEN_FLAGS);
  try {
    check(path, await handle.stat(), Number.MAX_SAFE_INTEGER);
  } catch (err) {
    await handle.close();
    throw err;
  }
  return handle;
}
