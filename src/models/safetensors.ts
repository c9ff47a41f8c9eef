// Reads safetensors checkpoints (single file or sharded) one tensor at a time, with positioned reads,
// so that loading a model never holds more than the tensor being converted plus one small chunk.
import type { FileHandle } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { endianness } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { decodeHalf, encodeHalf } from './half';
import { openModelFile, readModelText } from './model-file';

export const DTYPE_BYTES = {
  F64: 8, F32: 4, F16: 2, BF16: 2, F8_E4M3: 1, F8_E5M2: 1,
  I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
} as const;
export type SafetensorsDtype = keyof typeof DTYPE_BYTES;
/** The float dtypes we convert; everything else is refused by readFloat32/readFloat16. */
export type FloatDtype = 'F32' | 'F16' | 'BF16';

/** The safetensors reference implementation refuses headers above 100 MB; so do we. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;
/** Conversions go through a scratch buffer of this many bytes, not a second full copy. */
const CHUNK_BYTES = 8 * 1024 * 1024;

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** File that holds the tensor. */
  file: string;
  /** Absolute position of the tensor's first byte in `file`. */
  offset: number;
  byteLength: number;
}

/** Read access to the tensors of a checkpoint, one at a time. */
export interface TensorReader {
  names(): string[];
  has(name: string): boolean;
  info(name: string): TensorInfo;
  /** F32, F16 or BF16 tensor as float32. */
  readFloat32(name: string): Promise<Float32Array>;
  /** F32, F16 or BF16 tensor as IEEE fp16 bit patterns (kept raw when stored as F16), for GPU sessions. */
  readFloat16(name: string): Promise<Uint16Array>;
  /** The stored bytes, unconverted. */
  readBytes(name: string): Promise<Uint8Array>;
  /** The `__metadata__` string map (of the first shard for sharded checkpoints). */
  metadata(): Record<string, string>;
  close(): Promise<void>;
}

/** A safetensors file or index is malformed, truncated, or asked for something it lacks. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

export interface ParsedHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Validates a safetensors JSON header against the size of its file: known dtypes, integral shapes,
 * byte counts equal to dtype size × element count, offsets inside the data area and not overlapping.
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, fileSize: number, file: string): ParsedHeader {
  const fail = (why: string) => new SafetensorsError(`${file}: invalid safetensors header: ${why}`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (err) {
    throw fail(`not UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail('not a JSON object');
  const dataStart = 8 + headerBytes.length;
  const dataSize = fileSize - dataStart;
  const tensors = new Map<string, TensorInfo>();
  const metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null) throw fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(entry)) if (typeof v === 'string') metadata[k] = v;
      continue;
    }
    if (typeof entry !== 'object' || entry === null) throw fail(`entry "${name}" is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) throw fail(`tensor "${name}" has unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every(isCount)) throw fail(`tensor "${name}" has invalid shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
      throw fail(`tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    let bytes = DTYPE_BYTES[dtype as SafetensorsDtype];
    for (const dim of shape as number[]) bytes *= dim;
    if (!Number.isSafeInteger(bytes)) throw fail(`tensor "${name}" shape ${JSON.stringify(shape)} is too large`);
    const [begin, end] = offsets as number[];
    if (end - begin !== bytes) {
      throw fail(`tensor "${name}" (${dtype} ${JSON.stringify(shape)}) needs ${bytes} bytes but data_offsets span ${end - begin}`);
    }
    if (end > dataSize) throw fail(`tensor "${name}" ends at byte ${end} but the data area holds ${Math.max(0, dataSize)} (truncated file?)`);
    tensors.set(name, { name, dtype: dtype as SafetensorsDtype, shape: shape as number[], file, offset: dataStart + begin, byteLength: bytes });
  }
  const sorted = [...tensors.values()].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].offset < sorted[i - 1].offset + sorted[i - 1].byteLength) {
      throw fail(`tensors "${sorted[i - 1].name}" and "${sorted[i].name}" overlap`);
    }
  }
  return { tensors, metadata };
}

/** Fills `target` from `position`, failing clearly if the file ends early. */
async function readFully(handle: FileHandle, target: Uint8Array, position: number, file: string): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const { bytesRead } = await handle.read(target, done, target.length - done, position + done);
    if (bytesRead === 0) throw new SafetensorsError(`${file}: unexpected end of file at byte ${position + done} (truncated?)`);
    done += bytesRead;
  }
}

function bytesOf(array: Float32Array | Uint16Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

function requireFloat(info: TensorInfo): FloatDtype {
  if (info.dtype !== 'F32' && info.dtype !== 'F16' && info.dtype !== 'BF16') {
    throw new SafetensorsError(`${info.file}: tensor "${info.name}" has dtype ${info.dtype}; only F32, F16 and BF16 are read as floats.`);
  }
  return info.dtype;
}

/** One open .safetensors file. */
export class SafetensorsFile implements TensorReader {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly header: ParsedHeader,
  ) {}

  static async open(path: string): Promise<SafetensorsFile> {
    // Typed-array views over file bytes assume the little-endian layout safetensors stores.
    if (endianness() !== 'LE') throw new SafetensorsError('safetensors reading needs a little-endian host.');
    let handle: FileHandle;
    try {
      // A regular file only: a FIFO would block the open, /dev/zero would pass as an empty file.
      handle = await openModelFile(path);
    } catch (err) {
      throw new SafetensorsError(`Cannot open ${path}: ${(err as Error).message}`);
    }
    try {
      const size = (await handle.stat()).size;
      if (size < 8) throw new SafetensorsError(`${path}: ${size} bytes is too small for a safetensors file.`);
      const prefix = new Uint8Array(8);
      await readFully(handle, prefix, 0, path);
      const headerSize = Buffer.from(prefix).readBigUInt64LE(0);
      if (headerSize > BigInt(MAX_HEADER_BYTES)) {
        throw new SafetensorsError(`${path}: header claims ${headerSize} bytes, above the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?).`);
      }
      if (Number(headerSize) > size - 8) {
        throw new SafetensorsError(`${path}: header claims ${headerSize} bytes but the file has only ${size - 8} after the size prefix (truncated?).`);
      }
      const headerBytes = new Uint8Array(Number(headerSize));
      await readFully(handle, headerBytes, 8, path);
      return new SafetensorsFile(path, handle, parseSafetensorsHeader(headerBytes, size, path));
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  names(): string[] {
    return [...this.header.tensors.keys()];
  }

  has(name: string): boolean {
    return this.header.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const info = this.header.tensors.get(name);
    if (!info) throw new SafetensorsError(`${this.path}: no tensor named "${name}".`);
    return info;
  }

  metadata(): Record<string, string> {
    return { ...this.header.metadata };
  }

  async readBytes(name: string): Promise<Uint8Array> {
    const info = this.info(name);
    const out = new Uint8Array(info.byteLength);
    await readFully(this.handle, out, info.offset, this.path);
    return out;
  }

  async readFloat32(name: string): Promise<Float32Array> {
    const info = this.info(name);
    const dtype = requireFloat(info);
    const out = new Float32Array(info.byteLength / DTYPE_BYTES[dtype]);
    if (dtype === 'F32') {
      await readFully(this.handle, bytesOf(out), info.offset, this.path);
      return out;
    }
    await this.readHalfChunks(info, (chunk, at) => decodeHalf(dtype, chunk, out, at));
    return out;
  }

  async readFloat16(name: string): Promise<Uint16Array> {
    const info = this.info(name);
    const dtype = requireFloat(info);
    const out = new Uint16Array(info.byteLength / DTYPE_BYTES[dtype]);
    if (dtype === 'F16') {
      await readFully(this.handle, bytesOf(out), info.offset, this.path);
    } else if (dtype === 'BF16') {
      const f32 = new Float32Array(CHUNK_BYTES / 2);
      await this.readHalfChunks(info, (chunk, at) => {
        const view = f32.subarray(0, chunk.length);
        decodeHalf('BF16', chunk, view);
        encodeHalf('F16', view, out, at);
      });
    } else {
      const chunk = new Float32Array(CHUNK_BYTES / 4);
      for (let at = 0; at < out.length; at += chunk.length) {
        const view = chunk.subarray(0, Math.min(chunk.length, out.length - at));
        await readFully(this.handle, bytesOf(view), info.offset + at * 4, this.path);
        encodeHalf('F16', view, out, at);
      }
    }
    return out;
  }

  /** Streams a 16-bit tensor through one scratch buffer; `use` gets each chunk and its element index. */
  private async readHalfChunks(info: TensorInfo, use: (chunk: Uint16Array, at: number) => void): Promise<void> {
    const count = info.byteLength / 2;
    const scratch = new Uint16Array(Math.min(count, CHUNK_BYTES / 2));
    for (let at = 0; at < count; at += scratch.length) {
      const view = scratch.subarray(0, Math.min(scratch.length, count - at));
      await readFully(this.handle, bytesOf(view), info.offset + at * 2, this.path);
      use(view, at);
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Shard file names come from a downloaded index: only plain names inside the model folder are allowed. */
function safeShardName(name: unknown, indexPath: string): string {
  if (typeof name !== 'string' || name !== basename(name) || name === '..' || name === '.' || name.includes('\\') || !name.endsWith('.safetensors')) {
    throw new SafetensorsError(`${indexPath}: shard file ${JSON.stringify(name)} must be a plain *.safetensors name in the same folder.`);
  }
  return name;
}

/** Checkpoints split over several files by model.safetensors.index.json. */
export class ShardedSafetensors implements TensorReader {
  private constructor(
    private readonly shards: Map<string, SafetensorsFile>,
    private readonly weightMap: Map<string, SafetensorsFile>,
  ) {}

  static async open(indexPath: string): Promise<ShardedSafetensors> {
    let index: unknown;
    try {
      index = JSON.parse(readModelText(indexPath));
    } catch (err) {
      throw new SafetensorsError(`Cannot read safetensors index ${indexPath}: ${(err as Error).message}`);
    }
    const map = (index as { weight_map?: unknown } | null)?.weight_map;
    if (typeof map !== 'object' || map === null || Array.isArray(map)) {
      throw new SafetensorsError(`${indexPath}: missing "weight_map" object.`);
    }
    const shards = new Map<string, SafetensorsFile>();
    const weightMap = new Map<string, SafetensorsFile>();
    try {
      for (const [tensor, shardName] of Object.entries(map)) {
        const name = safeShardName(shardName, indexPath);
        let shard = shards.get(name);
        if (!shard) {
          shard = await SafetensorsFile.open(join(dirname(indexPath), name));
          shards.set(name, shard);
        }
        if (!shard.has(tensor)) throw new SafetensorsError(`${indexPath}: maps "${tensor}" to ${name}, which does not contain it.`);
        weightMap.set(tensor, shard);
      }
    } catch (err) {
      await Promise.all([...shards.values()].map((s) => s.close()));
      throw err;
    }
    return new ShardedSafetensors(shards, weightMap);
  }

  names(): string[] {
    return [...this.weightMap.keys()];
  }

  has(name: string): boolean {
    return this.weightMap.has(name);
  }

  private shard(name: string): SafetensorsFile {
    const shard = this.weightMap.get(name);
    if (!shard) throw new SafetensorsError(`No tensor named "${name}" in the sharded checkpoint.`);
    return shard;
  }

  info(name: string): TensorInfo {
    return this.shard(name).info(name);
  }

  metadata(): Record<string, string> {
    const first = this.shards.values().next().value;
    return first ? first.metadata() : {};
  }

  readBytes(name: string): Promise<Uint8Array> {
    return this.shard(name).readBytes(name);
  }

  readFloat32(name: string): Promise<Float32Array> {
    return this.shard(name).readFloat32(name);
  }

  readFloat16(name: string): Promise<Uint16Array> {
    return this.shard(name).readFloat16(name);
  }

  async close(): Promise<void> {
    await Promise.all([...this.shards.values()].map((s) => s.close()));
  }
}

export const SAFETENSORS_INDEX = 'model.safetensors.index.json';
export const SAFETENSORS_SINGLE = 'model.safetensors';

/** Opens a .safetensors file, an index json, or a model folder (index preferred over model.safetensors). */
export async function openSafetensors(path: string): Promise<TensorReader> {
  if (path.endsWith('.json')) return ShardedSafetensors.open(path);
  if (path.endsWith('.safetensors')) return SafetensorsFile.open(path);
  if (existsSync(join(path, SAFETENSORS_INDEX))) return ShardedSafetensors.open(join(path, SAFETENSORS_INDEX));
  if (existsSync(join(path, SAFETENSORS_SINGLE))) return SafetensorsFile.open(join(path, SAFETENSORS_SINGLE));
  throw new SafetensorsError(`${path} holds neither ${SAFETENSORS_INDEX} nor ${SAFETENSORS_SINGLE}.`);
}
