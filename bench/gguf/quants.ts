// ggml's tensor encodings for the GGUF writer, following ggml's reference quantizers (ggml-quants.c,
// quantize_row_q8_0_ref / quantize_row_q4_0_ref) so the files match what llama-quantize --pure writes:
// - F16: IEEE half per value.
// - Q8_0: blocks of 32 values along a row: an f16 scale d = max|x| / 127, then 32 int8 round(x / d).
// - Q4_0: blocks of 32: an f16 scale d = m / -8 (m the value of largest magnitude, sign kept), then
//   16 bytes; byte j holds value j in its low nibble and value j + 16 in its high nibble, each
//   stored as min(15, trunc(x / d + 8.5)), so w ~ (q - 8) * d.
import { f32ToF16Bits } from '../../src/models/half';
import type { GgmlType } from './format';

/** C's roundf: halves away from zero (Math.round goes up). */
const roundAway = (v: number): number => (v < 0 ? -Math.round(-v) : Math.round(v));

function encodeF16(x: Float32Array): Uint8Array {
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = f32ToF16Bits(x[i]);
  return new Uint8Array(out.buffer);
}

function encodeQ8_0(x: Float32Array): Uint8Array {
  const blocks = x.length / 32;
  const out = new Uint8Array(blocks * 34);
  const view = new DataView(out.buffer);
  const q = new Int8Array(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const at = b * 32;
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[at + j]));
    const d = amax / 127;
    const id = d ? 1 / d : 0;
    view.setUint16(b * 34, f32ToF16Bits(d), true);
    for (let j = 0; j < 32; j++) q[b * 34 + 2 + j] = roundAway(x[at + j] * id);
  }
  return out;
}

function encodeQ4_0(x: Float32Array): Uint8Array {
  const blocks = x.length / 32;
  const out = new Uint8Array(blocks * 18);
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const at = b * 32;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = x[at + j];
      if (Math.abs(v) > amax) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = max / -8;
    const id = d ? 1 / d : 0;
    view.setUint16(b * 18, f32ToF16Bits(d), true);
    for (let j = 0; j < 16; j++) {
      const lo = Math.min(15, Math.trunc(x[at + j] * id + 8.5));
      const hi = Math.min(15, Math.trunc(x[at + 16 + j] * id + 8.5));
      out[b * 18 + 2 + j] = lo | (hi << 4);
    }
  }
  return out;
}

/** A tensor's float32 values (rows of a multiple of 32 for the quantized types) in ggml's encoding. */
export function encodeTensor(x: Float32Array, type: GgmlType): Uint8Array {
  switch (type) {
    case 'F32': return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
    case 'F16': return encodeF16(x);
    case 'Q8_0': return encodeQ8_0(x);
    case 'Q4_0': return encodeQ4_0(x);
  }
}
