// IEEE half (fp16) and bfloat16 conversions, as raw 16-bit patterns held in Uint16Array.

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

let f16Table: Float32Array | null = null;

/** All 65536 fp16 values decoded once: a table lookup beats per-element exponent math on big tensors. */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) table[h] = sign * mant * 2 ** -24;
    else if (exp === 31) table[h] = mant ? NaN : sign * Infinity;
    else table[h] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  f16Table = table;
  return table;
}

export function f16BitsToF32(bits: number): number {
  return halfTable()[bits & 0xffff];
}

/** Rounds to the nearest fp16, ties to even; overflow becomes infinity, NaN stays NaN. */
export function f32ToF16Bits(value: number): number {
  scratchF32[0] = value;
  const x = scratchU32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (and 65520+ becomes infinity).
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** Rounds to the nearest bfloat16, ties to even; NaN stays a quiet NaN. */
export function f32ToBf16Bits(value: number): number {
  scratchF32[0] = value;
  const x = scratchU32[0];
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return ((x >>> 16) & 0x8000) | 0x7fc0;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bf16BitsToF32(bits: number): number {
  scratchU32[0] = (bits & 0xffff) << 16;
  return scratchF32[0];
}

/** Decodes `src` (fp16 or bf16 patterns) into `dst[at ...]`. */
export function decodeHalf(kind: 'F16' | 'BF16', src: Uint16Array, dst: Float32Array, at = 0): void {
  if (kind === 'BF16') {
    const out = new Uint32Array(dst.buffer, dst.byteOffset + at * 4, src.length);
    for (let i = 0; i < src.length; i++) out[i] = src[i] << 16;
    return;
  }
  const table = halfTable();
  for (let i = 0; i < src.length; i++) dst[at + i] = table[src[i]];
}

/** Encodes `src` into fp16 or bf16 patterns in `dst[at ...]`. */
export function encodeHalf(kind: 'F16' | 'BF16', src: Float32Array, dst: Uint16Array, at = 0): void {
  const encode = kind === 'F16' ? f32ToF16Bits : f32ToBf16Bits;
  for (let i = 0; i < src.length; i++) dst[at + i] = encode(src[i]);
}
