// The synchronous file operations the store uses, as an interface so tests can inject failures
// (a full disk, a read-only file system) that are hard to produce for real.
import * as fs from 'node:fs';

export interface FsLayer {
  openSync(path: string, flags: string, mode?: number): number;
  closeSync(fd: number): void;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number;
  fsyncSync(fd: number): void;
  ftruncateSync(fd: number, len: number): void;
  fstatSync(fd: number): fs.Stats;
  /** The lock's heartbeat: its file's mtime, set through the descriptor its owner checked. */
  futimesSync(fd: number, atime: Date, mtime: Date): void;
  writeFileSync(path: string, data: Uint8Array): void;
  linkSync(existing: string, newPath: string): void;
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
  mkdirSync(path: string, options: { recursive: true }): string | undefined;
  readdirSync(path: string): string[];
}

export const nodeFs: FsLayer = {
  openSync: (p, flags, mode) => fs.openSync(p, flags, mode),
  closeSync: (fd) => fs.closeSync(fd),
  writeSync: (fd, b, o, l, pos) => fs.writeSync(fd, b, o, l, pos),
  readSync: (fd, b, o, l, pos) => fs.readSync(fd, b, o, l, pos),
  fsyncSync: (fd) => fs.fsyncSync(fd),
  ftruncateSync: (fd, len) => fs.ftruncateSync(fd, len),
  fstatSync: (fd) => fs.fstatSync(fd),
  futimesSync: (fd, a, m) => fs.futimesSync(fd, a, m),
  writeFileSync: (p, d) => fs.writeFileSync(p, d),
  linkSync: (a, b) => fs.linkSync(a, b),
  renameSync: (a, b) => fs.renameSync(a, b),
  unlinkSync: (p) => fs.unlinkSync(p),
  mkdirSync: (p, o) => fs.mkdirSync(p, o),
  readdirSync: (p) => fs.readdirSync(p),
};

/** Whether an fs error is "the file is not there". */
export function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}
