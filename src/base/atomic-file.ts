// Files that are either whole or absent: written aside, flushed, renamed into place. Adapters,
// version pointers, caches, exports and the CUDA provider install use this; the preference store keeps its own behind an
// injectable fs layer (src/store/fs-layer.ts) so that its tests can simulate a full disk.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Writes `path` by temp file + fsync + rename, then fsyncs its folder; the temp file never stays behind. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    fsyncPath(tmp);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncPath(dirname(path));
}

/** Flushes a file or folder to disk (folders: so that a rename inside them survives a crash). */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
