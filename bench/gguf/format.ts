// The GGUF container (version 3), as llama.cpp reads it: a header, typed key/values, tensor infos,
// then the tensor data, each tensor at a multiple of the alignment. Little-endian throughout.
// Bench-only: it lets llama.cpp run the same checkpoint as our ONNX export.
import { closeSync, openSync, writeSync } from 'node:fs';

/** ggml tensor types we write (ggml.h's enum ggml_type). */
export const GGML_TYPE = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8 } as const;
export type GgmlType = keyof typeof GGML_TYPE;

/** Values per block and bytes per block of each type (a block is one element for the float types). */
export const GGML_BLOCK: Record<GgmlType, { values: number; bytes: number }> = {
  F32: { values: 1, bytes: 4 },
  F16: { values: 1, bytes: 2 },
  Q4_0: { values: 32, bytes: 18 },
  Q8_0: { values: 32, bytes: 34 },
};

/** GGUF metadata value types (gguf.h's enum gguf_type). */
const T = { UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9 } as const;

export type GgufValue =
  | { type: 'u32' | 'i32' | 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'i32[]'; value: ArrayLike<number> }
  | { type: 'string[]'; value: string[] };

export interface GgufTensor {
  name: string;
  /** ggml order: the innermost (row) length first; a PyTorch [out, in] matrix is [in, out]. */
  dims: number[];
  type: GgmlType;
  /** The encoded bytes, produced when the writer reaches this tensor (one tensor in memory at a time). */
  data: () => Promise<Uint8Array>;
}

export const GGUF_ALIGNMENT = 32;

/** Grows a byte buffer for the header part (metadata and tensor infos); tensor data is written directly. */
class ByteSink {
  private buf = Buffer.alloc(1 << 20);
  length = 0;
  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }
  u32(v: number): void { this.room(4); this.buf.writeUInt32LE(v, this.length); this.length += 4; }
  i32(v: number): void { this.room(4); this.buf.writeInt32LE(v, this.length); this.length += 4; }
  u64(v: number): void { this.room(8); this.buf.writeBigUInt64LE(BigInt(v), this.length); this.length += 8; }
  f32(v: number): void { this.room(4); this.buf.writeFloatLE(v, this.length); this.length += 4; }
  u8(v: number): void { this.room(1); this.buf[this.length++] = v; }
  string(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.room(bytes.length);
    bytes.copy(this.buf, this.length);
    this.length += bytes.length;
  }
  pad(alignment: number): void { while (this.length % alignment !== 0) this.u8(0); }
  bytes(): Buffer { return this.buf.subarray(0, this.length); }
}

function writeValue(out: ByteSink, v: GgufValue): void {
  switch (v.type) {
    case 'u32': out.u32(T.UINT32); out.u32(v.value); break;
    case 'i32': out.u32(T.INT32); out.i32(v.value); break;
    case 'f32': out.u32(T.FLOAT32); out.f32(v.value); break;
    case 'bool': out.u32(T.BOOL); out.u8(v.value ? 1 : 0); break;
    case 'string': out.u32(T.STRING); out.string(v.value); break;
    case 'i32[]':
      out.u32(T.ARRAY); out.u32(T.INT32); out.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) out.i32(v.value[i]);
      break;
    case 'string[]':
      out.u32(T.ARRAY); out.u32(T.STRING); out.u64(v.value.length);
      for (const s of v.value) out.string(s);
      break;
  }
}

/** Bytes a tensor of this shape and type takes; its row length must be a whole number of blocks. */
export function tensorBytes(name: string, dims: number[], type: GgmlType): number {
  const { values, bytes } = GGML_BLOCK[type];
  if (dims[0] % values !== 0) throw new Error(`gguf: ${name} has rows of ${dims[0]} values, not a multiple of ${type}'s block of ${values}`);
  return (dims.reduce((a, b) => a * b, 1) / values) * bytes;
}

const alignUp = (n: number): number => Math.ceil(n / GGUF_ALIGNMENT) * GGUF_ALIGNMENT;

/** Writes a GGUF v3 file: metadata in the given order, then the tensors in the given order. */
export async function writeGguf(path: string, metadata: [string, GgufValue][], tensors: GgufTensor[]): Promise<void> {
  const head = new ByteSink();
  head.u32(0x46554747); // "GGUF"
  head.u32(3);
  head.u64(tensors.length);
  head.u64(metadata.length);
  for (const [key, value] of metadata) {
    head.string(key);
    writeValue(head, value);
  }
  let offset = 0;
  const sizes: number[] = [];
  for (const t of tensors) {
    const size = tensorBytes(t.name, t.dims, t.type);
    head.string(t.name);
    head.u32(t.dims.length);
    for (const d of t.dims) head.u64(d);
    head.u32(GGML_TYPE[t.type]);
    head.u64(offset);
    sizes.push(size);
    offset = alignUp(offset + size);
  }
  head.pad(GGUF_ALIGNMENT);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, head.bytes());
    const zeros = new Uint8Array(GGUF_ALIGNMENT);
    for (const [i, t] of tensors.entries()) {
      const data = await t.data();
      if (data.byteLength !== sizes[i]) throw new Error(`gguf: ${t.name} encoded to ${data.byteLength} bytes, expected ${sizes[i]}`);
      writeSync(fd, data);
      writeSync(fd, zeros, 0, alignUp(data.byteLength) - data.byteLength);
    }
  } finally {
    closeSync(fd);
  }
}
