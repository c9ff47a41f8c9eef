// Reads entries out of a zip archive (a .nupkg is one) with node's zlib: the central directory
// gives each entry's place, sizes and CRC-32; an entry is streamed through inflateRaw to a file and
// checked against both (inflation stops at the declared size), so a truncated, corrupted or hostile
// archive is caught before anything is used.
import { createReadStream, createWriteStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw, inflateRawSync } from 'node:zlib';

export class ZipError extends Error {
  override name = 'ZipError';
  /** 'format': not a (complete) zip archive; 'checksum': an entry's bytes do not match its CRC-32 or size. */
  constructor(message: string, readonly code: 'format' | 'checksum') {
    super(message);
  }
}

export interface ZipEntry {
  name: string;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  /** Offset of the entry's local header. */
  localOffset: number;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_COMMENT = 0xffff;

async function readAt(file: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await file.read(buf, 0, length, position);
  if (bytesRead !== length) throw new ZipError(`unexpected end of archive at byte ${position + bytesRead}`, 'format');
  return buf;
}

/**
 * Where the central directory is and how many entries it holds. Zip64 (over 65535 entries or 4 GiB)
 * is refused: a NuGet package of provider libraries needs neither.
 */
async function findDirectory(file: FileHandle, fileSize: number): Promise<{ offset: number; size: number; count: number }> {
  const tailLength = Math.min(fileSize, 22 + MAX_COMMENT);
  if (tailLength < 22) throw new ZipError(`${fileSize} bytes is too short for a zip archive`, 'format');
  const tail = await readAt(file, fileSize - tailLength, tailLength);
  let at = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD && i + 22 + tail.readUInt16LE(i + 20) === tail.length) {
      at = i;
      break;
    }
  }
  if (at < 0) throw new ZipError('no end-of-central-directory record (not a zip archive, or a truncated one)', 'format');
  const count = tail.readUInt16LE(at + 10);
  const size = tail.readUInt32LE(at + 12);
  const offset = tail.readUInt32LE(at + 16);
  if (count === 0xffff || size === 0xffffffff || offset === 0xffffffff) throw new ZipError('zip64 archives are not supported', 'format');
  if (offset + size > fileSize) throw new ZipError(`the central directory (${offset}+${size}) lies past the end of the file (${fileSize} bytes)`, 'format');
  return { offset, size, count };
}

/** The archive's entries by name, read from the central directory. */
export async function readZipDirectory(path: string): Promise<Map<string, ZipEntry>> {
  const file = await open(path, 'r');
  try {
    const { size: fileSize } = await file.stat();
    const dir = await findDirectory(file, fileSize);
    const data = await readAt(file, dir.offset, dir.size);
    const entries = new Map<string, ZipEntry>();
    let p = 0;
    for (let i = 0; i < dir.count; i++) {
      if (p + 46 > data.length || data.readUInt32LE(p) !== CENTRAL) throw new ZipError(`central directory entry ${i} is damaged`, 'format');
      const flags = data.readUInt16LE(p + 8);
      const nameLength = data.readUInt16LE(p + 28);
      const extraLength = data.readUInt16LE(p + 30);
      const commentLength = data.readUInt16LE(p + 32);
      const entry: ZipEntry = {
        name: data.toString(flags & 0x800 ? 'utf8' : 'latin1', p + 46, p + 46 + nameLength),
        method: data.readUInt16LE(p + 10),
        crc32: data.readUInt32LE(p + 16),
        compressedSize: data.readUInt32LE(p + 20),
        size: data.readUInt32LE(p + 24),
        localOffset: data.readUInt32LE(p + 42),
      };
      if (flags & 0x1) throw new ZipError(`${entry.name} is encrypted`, 'format');
      if (entry.size === 0xffffffff || entry.compressedSize === 0xffffffff || entry.localOffset === 0xffffffff) throw new ZipError(`${entry.name}: zip64 entries are not supported`, 'format');
      entries.set(entry.name, entry);
      p += 46 + nameLength + extraLength + commentLength;
    }
    return entries;
  } finally {
    await file.close();
  }
}

/** Byte range of an entry's compressed data, from its local header (whose extra field may differ from the central one). */
async function dataRange(path: string, entry: ZipEntry): Promise<{ start: number; end: number }> {
  if (entry.method !== 0 && entry.method !== 8) throw new ZipError(`${entry.name}: compression method ${entry.method} is not supported (only stored and deflate)`, 'format');
  const file = await open(path, 'r');
  try {
    const header = await readAt(file, entry.localOffset, 30);
    if (header.readUInt32LE(0) !== LOCAL) throw new ZipError(`${entry.name}: local header not found at byte ${entry.localOffset}`, 'format');
    const start = entry.localOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
    if (entry.method === 0 && entry.compressedSize !== entry.size) {
      throw new ZipError(`${entry.name}: stored entry of ${entry.compressedSize} bytes declares ${entry.size}`, 'format');
    }
    const { size } = await file.stat();
    if (start + entry.compressedSize > size) throw new ZipError(`${entry.name}: data runs past the end of the archive`, 'format');
    return { start, end: start + entry.compressedSize };
  } finally {
    await file.close();
  }
}

function checkContent(entry: ZipEntry, size: number, crc: number): void {
  if (size !== entry.size) throw new ZipError(`${entry.name}: ${size} bytes after decompression, the archive says ${entry.size}`, 'checksum');
  if (crc !== entry.crc32) throw new ZipError(`${entry.name}: CRC-32 ${hex(crc)} does not match the archive's ${hex(entry.crc32)}`, 'checksum');
}

const hex = (n: number) => n.toString(16).padStart(8, '0');

/** Inflation is capped at the declared size: a few compressed bytes can expand a thousandfold (a zip bomb). */
function inflatesPast(entry: ZipEntry): ZipError {
  return new ZipError(`${entry.name}: inflates past its declared ${entry.size} bytes (a damaged or hostile archive)`, 'checksum');
}

/** Streams one entry into `dest` (created or truncated) and checks its size and CRC-32. */
export async function extractZipEntry(path: string, entry: ZipEntry, dest: string, options: { mode?: number; signal?: AbortSignal } = {}): Promise<void> {
  const { start, end } = await dataRange(path, entry);
  let crc = 0;
  let size = 0;
  const check = new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      size += chunk.length;
      if (size > entry.size) return done(inflatesPast(entry));
      crc = crc32(chunk, crc);
      done(null, chunk);
    },
  });
  // createReadStream's end is inclusive, so an empty range needs its own source.
  const source = end > start ? createReadStream(path, { start, end: end - 1 }) : Readable.from([]);
  const sink = createWriteStream(dest, { mode: options.mode ?? 0o644 });
  try {
    if (entry.method === 8) await pipeline(source, createInflateRaw(), check, sink, { signal: options.signal });
    else await pipeline(source, check, sink, { signal: options.signal });
  } catch (err) {
    if (err instanceof ZipError) throw err;
    if ((err as { code?: string }).code?.startsWith('Z_')) throw new ZipError(`${entry.name}: the compressed data is damaged (${(err as Error).message})`, 'checksum');
    throw err;
  }
  checkContent(entry, size, crc >>> 0);
}

/** Reads a small entry (a manifest) into memory, checked like extractZipEntry. */
export async function readZipEntry(path: string, entry: ZipEntry, maxBytes = 1 << 20): Promise<Buffer> {
  if (entry.size > maxBytes) throw new ZipError(`${entry.name}: ${entry.size} bytes is more than the ${maxBytes} expected`, 'format');
  const { start, end } = await dataRange(path, entry);
  const file = await open(path, 'r');
  let raw: Buffer;
  try {
    raw = await readAt(file, start, end - start);
  } finally {
    await file.close();
  }
  let content: Buffer;
  try {
    // One byte more than declared tells a lying entry from an exact one without inflating the rest.
    content = entry.method === 8 ? inflateRawSync(raw, { maxOutputLength: entry.size + 1 }) : raw;
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw inflatesPast(entry);
    throw new ZipError(`${entry.name}: the compressed data is damaged (${(err as Error).message})`, 'checksum');
  }
  checkContent(entry, content.length, crc32(content) >>> 0);
  return content;
}
