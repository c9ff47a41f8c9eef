import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../../../src/models/half';

const isNaNBits = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

test('every fp16 value survives decode then encode, and midpoints round to even', () => {
  for (let h = 0; h < 0x10000; h++) {
    const v = f16BitsToF32(h);
    if (isNaNBits(h)) {
      assert.ok(Number.isNaN(v));
      assert.ok(isNaNBits(f32ToF16Bits(v)));
      continue;
    }
    assert.equal(f32ToF16Bits(v), h, `bits ${h.toString(16)}`);
    // The midpoint to the next larger magnitude (exact in f64, and in f32 for every finite fp16).
    const next = h + 1;
    if ((h & 0x7fff) >= 0x7bff) continue; // the largest finite value and infinities have no finite next
    const mid = (v + f16BitsToF32(next)) / 2;
    assert.equal(Math.fround(mid), mid);
    const even = (h & 1) === 0 ? h : next;
    assert.equal(f32ToF16Bits(mid), even, `midpoint after ${h.toString(16)}`);
  }
});

test('fp16 edge cases: overflow, underflow, signed zero', () => {
  assert.equal(f32ToF16Bits(65504), 0x7bff);
  assert.equal(f32ToF16Bits(65519), 0x7bff); // below the midpoint to 65536
  assert.equal(f32ToF16Bits(65520), 0x7c00); // the midpoint rounds to even: infinity
  assert.equal(f32ToF16Bits(-1e9), 0xfc00);
  assert.equal(f32ToF16Bits(2 ** -25), 0); // half the smallest subnormal: ties to even zero
  assert.equal(f32ToF16Bits(2 ** -25 * 1.0001), 1);
  assert.equal(f32ToF16Bits(-0), 0x8000);
  assert.equal(f32ToF16Bits(1e-30), 0);
});

test('bf16 keeps the top 16 bits with round-to-nearest-even', () => {
  for (let h = 0; h < 0x10000; h += 7) {
    const v = bf16BitsToF32(h);
    if (Number.isNaN(v)) continue;
    assert.equal(f32ToBf16Bits(v), h);
  }
  assert.equal(f32ToBf16Bits(1 + 2 ** -8), 0x3f80); // tie, even stays
  assert.equal(f32ToBf16Bits(1 + 3 * 2 ** -8), 0x3f82); // tie, odd rounds up
  assert.equal(f32ToBf16Bits(1 + 2 ** -8 + 2 ** -20), 0x3f81);
  assert.ok(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(NaN))));
  assert.equal(f32ToBf16Bits(3.4e38), 0x7f80, 'rounds past the largest bf16 to infinity');
});
