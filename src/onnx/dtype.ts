// Element types the engine knows, with their ONNX TensorProto.DataType codes and JS storage.

export type DType = 'float32' | 'float64' | 'float16' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';

export type TypedArray =
  | Float32Array | Float64Array | Uint16Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;

interface DTypeInfo { onnx: number; bytes: number; float: boolean }

const INFO: Record<DType, DTypeInfo> = {
  float32: { onnx: 1, bytes: 4, float: true },
  uint8: { onnx: 2, bytes: 1, float: false },
  int8: { onnx: 3, bytes: 1, float: false },
  int32: { onnx: 6, bytes: 4, float: false },
  int64: { onnx: 7, bytes: 8, float: false },
  bool: { onnx: 9, bytes: 1, float: false },
  float16: { onnx: 10, bytes: 2, float: true },
  float64: { onnx: 11, bytes: 8, float: true },
};

export function onnxDataType(dtype: DType): number {
  return INFO[dtype].onnx;
}

export function dtypeBytes(dtype: DType): number {
  return INFO[dtype].bytes;
}

/** Floating types are the ones gradients flow through. */
export function isFloat(dtype: DType): boolean {
  return INFO[dtype].float;
}

export function dtypeFromOnnx(code: number): DType {
  for (const [name, info] of Object.entries(INFO)) if (info.onnx === code) return name as DType;
  throw new Error(`unsupported ONNX data type ${code}`);
}

/** Builds the storage array of a dtype from plain numbers (bigint for int64 also accepted). */
export function typedArrayFrom(dtype: DType, values: ArrayLike<number | bigint>): TypedArray {
  const n = values.length;
  switch (dtype) {
    case 'float32': return Float32Array.from(values as ArrayLike<number>, Number);
    case 'float64': return Float64Array.from(values as ArrayLike<number>, Number);
    case 'int64': {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) out[i] = BigInt(values[i]);
      return out;
    }
    case 'int32': return Int32Array.from(values as ArrayLike<number>, Number);
    case 'int8': return Int8Array.from(values as ArrayLike<number>, Number);
    case 'uint8': return Uint8Array.from(values as ArrayLike<number>, Number);
    case 'bool': return Uint8Array.from(values as ArrayLike<number>, (v) => (Number(v) ? 1 : 0));
    case 'float16': throw new Error('float16 constants from numbers are not supported; pass raw Uint16Array bits');
  }
}

/** Little-endian bytes of a typed array, as ONNX raw_data wants them. */
export function rawBytes(data: TypedArray): Uint8Array {
  // Every platform Node runs on is little-endian, so the in-memory bytes are already raw_data.
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
