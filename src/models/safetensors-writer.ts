// Streams a safetensors file to disk: the header is fixed up front from the declared shapes, then
// tensors are written one at a time, so a writer never holds more than the tensor it is handed.
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { encodeHalf } from './half';
import { DTYPE_BYTES, SafetensorsError, type FloatDtype } from './safetensors';

export interface TensorDecl {
  name: string;
  dtype: FloatDtype;
  shape: number[];
}

/** Float32 data is converted to the declared dtype; Uint16Array is taken as raw F16/BF16 bits. */
export type TensorData = Float32Array | Uint16Array;

const CHUNK_ELEMENTS = 1 << 20;

function elementCount(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export class SafetensorsWriter {
  private next = 0;
  private position: number;

  private constructor(
    private readonly path: string,
    private readonly tmpPath: string,
    private readonly handle: FileHandle,
    private readonly decls: TensorDecl[],
    headerLength: number,
  ) {
    this.position = 8 + headerLength;
  }

  /**
   * Opens a temporary file next to `path`; close() renames it into place, so a crash never leaves a
   * half-written file under the final name. Tensors must be written in the order declared.
   */
  static async create(path: string, decls: TensorDecl[], metadata: Record<string, string> = {}): Promise<SafetensorsWriter> {
    const header: Record<string, unknown> = {};
    if (Object.keys(metadata).length) header.__metadata__ = metadata;
    let offset = 0;
    const seen = new Set<string>();
    for (const d of decls) {
      if (seen.has(d.name)) throw new SafetensorsError(`Tensor "${d.name}" declared twice.`);
      seen.add(d.name);
      if (!d.shape.every((n) => Number.isSafeInteger(n) && n >= 0)) throw new SafetensorsError(`Tensor "${d.name}" has invalid shape ${JSON.stringify(d.shape)}.`);
      const bytes = elementCount(d.shape) * DTYPE_BYTES[d.dtype];
      header[d.name] = { dtype: d.dtype, shape: d.shape, data_offsets: [offset, offset + bytes] };
      offset += bytes;
    }
    // Padding the header to 8 bytes keeps every tensor's data aligned for zero-copy readers.
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
    const headerBytes = Buffer.from(json, 'utf8');
    const tmpPath = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await open(tmpPath, 'w');
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(headerBytes.length));
    await handle.write(prefix, 0, 8, 0);
    await handle.write(headerBytes, 0, headerBytes.length, 8);
    return new SafetensorsWriter(path, tmpPath, handle, decls, headerBytes.length);
  }

  /** The name of the tensor write() expects next, or null when all are written. */
  get expected(): string | null {
    return this.decls[this.next]?.name ?? null;
  }

  async write(name: string, data: TensorData): Promise<void> {
    const decl = this.nextDecl(name);
    const count = elementCount(decl.shape);
    if (data.length !== count) throw new SafetensorsError(`Tensor "${name}" ${JSON.stringify(decl.shape)} needs ${count} values, got ${data.length}.`);
    if (data instanceof Uint16Array && decl.dtype === 'F32') throw new SafetensorsError(`Tensor "${name}" is F32; pass a Float32Array.`);
    if (decl.dtype !== 'F32' && data instanceof Float32Array) {
      await this.writeGenerated(name, (chunk, start) => chunk.set(data.subarray(start, start + chunk.length)));
      return;
    }
    await this.append(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    this.next++;
  }

  /**
   * Writes a tensor produced piecewise: `fill(chunk, start)` fills values [start, start + chunk.length)
   * of the next declared tensor, so even a 500 MB embedding never exists in memory at once.
   */
  async writeGenerated(name: string, fill: (chunk: Float32Array, start: number) => void): Promise<void> {
    const decl = this.nextDecl(name);
    const count = elementCount(decl.shape);
    const chunk = new Float32Array(Math.min(count, CHUNK_ELEMENTS));
    const half = decl.dtype === 'F32' ? null : new Uint16Array(chunk.length);
    for (let at = 0; at < count; at += chunk.length) {
      const part = chunk.subarray(0, Math.min(chunk.length, count - at));
      fill(part, at);
      if (!half) {
        await this.append(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
      } else {
        const out = half.subarray(0, part.length);
        encodeHalf(decl.dtype as 'F16' | 'BF16', part, out);
        await this.append(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
      }
    }
    this.next++;
  }

  private nextDecl(name: string): TensorDecl {
    const decl = this.decls[this.next];
    if (!decl || decl.name !== name) {
      throw new SafetensorsError(`Expected tensor ${decl ? `"${decl.name}"` : 'none (all written)'} next, got "${name}".`);
    }
    return decl;
  }

  private async append(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done, this.position);
      done += bytesWritten;
      this.position += bytesWritten;
    }
  }

  /** Checks every declared tensor was written, then moves the file into place. */
  async close(): Promise<void> {
    if (this.next !== this.decls.length) {
      await this.abort();
      throw new SafetensorsError(`${this.path}: only ${this.next} of ${this.decls.length} tensors were written (next: "${this.expected}").`);
    }
    await this.handle.sync();
    await this.handle.close();
    await rename(this.tmpPath, this.path);
  }

  /** Drops the temporary file. */
  async abort(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await rm(this.tmpPath, { force: true });
  }
}

/** Writes tensors that are already in memory. */
export async function writeSafetensors(
  path: string,
  tensors: Array<TensorDecl & { data: TensorData }>,
  metadata?: Record<string, string>,
): Promise<void> {
  const writer = await SafetensorsWriter.create(path, tensors, metadata);
  try {
    for (const t of tensors) await writer.write(t.name, t.data);
  } catch (err) {
    await writer.abort();
    throw err;
  }
  await writer.close();
}
