import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSafetensors, SafetensorsError, SafetensorsFile, MAX_HEADER_BYTES } from '../../../src/models/safetensors';
import { SafetensorsWriter, writeSafetensors } from '../../../src/models/safetensors-writer';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'slhf-st-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Builds a safetensors file by hand (independent of our writer): header JSON then raw bytes. */
function handMade(header: unknown, data: Buffer, headerLength?: bigint): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(headerLength ?? BigInt(json.length));
  return Buffer.concat([prefix, json, data]);
}

test('reads hand-made F32, F16 and BF16 tensors as float32', async (t) => {
  const dir = tempDir(t);
  const f32 = Buffer.from(new Float32Array([1.5, -2, 3.25]).buffer);
  // fp16: 1.0 = 0x3c00, -2.0 = 0xc000, 65504 = 0x7bff, smallest subnormal 2^-24 = 0x0001.
  const f16 = Buffer.from(new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001]).buffer);
  // bf16: 1.0 = 0x3f80, -0.5 = 0xbf00.
  const bf16 = Buffer.from(new Uint16Array([0x3f80, 0xbf00]).buffer);
  const header = {
    __metadata__: { format: 'pt' },
    a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] },
    b: { dtype: 'F16', shape: [2, 2], data_offsets: [12, 20] },
    c: { dtype: 'BF16', shape: [2], data_offsets: [20, 24] },
  };
  const path = join(dir, 'x.safetensors');
  writeFileSync(path, handMade(header, Buffer.concat([f32, f16, bf16])));
  const file = await SafetensorsFile.open(path);
  t.after(() => file.close());
  assert.deepEqual(file.names().sort(), ['a', 'b', 'c']);
  assert.deepEqual(file.metadata(), { format: 'pt' });
  assert.deepEqual(file.info('b').shape, [2, 2]);
  assert.deepEqual([...(await file.readFloat32('a'))], [1.5, -2, 3.25]);
  assert.deepEqual([...(await file.readFloat32('b'))], [1, -2, 65504, 2 ** -24]);
  assert.deepEqual([...(await file.readFloat32('c'))], [1, -0.5]);
  assert.deepEqual([...(await file.readFloat16('b'))], [0x3c00, 0xc000, 0x7bff, 0x0001], 'F16 stays raw');
  assert.deepEqual([...(await file.readFloat16('a'))], [0x3e00, 0xc000, 0x4280]);
  assert.deepEqual([...(await file.readFloat16('c'))], [0x3c00, 0xb800]);
  await assert.rejects(file.readFloat32('missing'), /no tensor named "missing"/);
});

test('writer output round-trips and keeps the header 8-byte aligned', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'w.safetensors');
  const values = new Float32Array([0, 1, -1, 0.1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 70000, NaN]);
  await writeSafetensors(path, [
    { name: 'f32', dtype: 'F32', shape: [2, 4], data: values },
    { name: 'f16', dtype: 'F16', shape: [8], data: values },
    { name: 'bf16', dtype: 'BF16', shape: [8], data: values },
    { name: 'raw', dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0x4000]) },
  ], { format: 'pt' });
  const bytes = readFileSync(path);
  assert.equal(Number(bytes.readBigUInt64LE(0)) % 8, 0);
  const reader = await openSafetensors(path);
  t.after(() => reader.close());
  assert.deepEqual([...(await reader.readFloat32('f32'))], [...values]);
  // Ties round to even: 1 + 2^-11 -> 1, 1 + 3·2^-11 -> 1 + 2^-9; 70000 overflows fp16 to infinity.
  const f16 = [...(await reader.readFloat16('f16'))];
  assert.deepEqual(f16.slice(0, 7), [0x0000, 0x3c00, 0xbc00, 0x2e66, 0x3c00, 0x3c02, 0x7c00]);
  assert.ok(Number.isNaN((await reader.readFloat32('f16'))[7]));
  const bf = await reader.readFloat32('bf16');
  assert.equal(bf[3], 0.10009765625); // 0x3dcd
  assert.equal(bf[6], 70144); // 70000 rounded to 8 significant bits
  assert.deepEqual([...(await reader.readFloat32('raw'))], [1, 2]);
});

test('large 16-bit tensors convert correctly across scratch chunks', async (t) => {
  const dir = tempDir(t);
  const n = 5_000_003; // more than one 8 MB scratch chunk, not a multiple of it
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = (i % 256) - 128; // exact in bf16
  const path = join(dir, 'big.safetensors');
  await writeSafetensors(path, [{ name: 'w', dtype: 'BF16', shape: [n], data: values }]);
  const reader = await openSafetensors(path);
  t.after(() => reader.close());
  const back = await reader.readFloat32('w');
  assert.equal(back.length, n);
  for (const i of [0, 1, 4_194_303, 4_194_304, 4_194_305, n - 1]) assert.equal(back[i], values[i], `element ${i}`);
  const half = await reader.readFloat16('w');
  assert.equal(half[n - 1], 0xd3c0); // (5000002 % 256) - 128 = -62 = -1.9375 · 2^5
});

test('sharded checkpoints read through model.safetensors.index.json', async (t) => {
  const dir = tempDir(t);
  await writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), [{ name: 'x', dtype: 'F32', shape: [1], data: new Float32Array([7]) }]);
  await writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), [{ name: 'y', dtype: 'BF16', shape: [1], data: new Float32Array([3]) }]);
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({
    metadata: { total_size: 6 },
    weight_map: { x: 'model-00001-of-00002.safetensors', y: 'model-00002-of-00002.safetensors' },
  }));
  const reader = await openSafetensors(dir);
  t.after(() => reader.close());
  assert.deepEqual(reader.names().sort(), ['x', 'y']);
  assert.equal(reader.info('y').file, join(dir, 'model-00002-of-00002.safetensors'));
  assert.deepEqual([...(await reader.readFloat32('x'))], [7]);
  assert.deepEqual([...(await reader.readFloat32('y'))], [3]);
});

test('a sharded index may not point outside the folder or at missing tensors', async (t) => {
  const dir = tempDir(t);
  await writeSafetensors(join(dir, 'a.safetensors'), [{ name: 'x', dtype: 'F32', shape: [1], data: new Float32Array([1]) }]);
  const index = (map: Record<string, string>) => {
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: map }));
    return openSafetensors(dir);
  };
  await assert.rejects(index({ x: '../a.safetensors' }), /plain \*\.safetensors name/);
  await assert.rejects(index({ x: 'sub/a.safetensors' }), /plain \*\.safetensors name/);
  await assert.rejects(index({ z: 'a.safetensors' }), /maps "z" to a.safetensors, which does not contain it/);
  await assert.rejects(index({ x: 'gone.safetensors' }), /Cannot open/);
});

const corrupt: Array<[string, () => Buffer, RegExp]> = [
  ['an empty file', () => Buffer.alloc(0), /too small/],
  ['a huge header size', () => handMade({}, Buffer.alloc(0), 1n << 60n), /above the \d+-byte limit/],
  ['a header just over the limit', () => handMade({}, Buffer.alloc(0), BigInt(MAX_HEADER_BYTES + 1)), /limit/],
  ['a header longer than the file', () => handMade({}, Buffer.alloc(0), 1000n), /truncated/],
  ['non-JSON header', () => { const b = handMade({ a: 1 }, Buffer.alloc(0)); b[8] = 0x7b; b[9] = 0x7b; return b; }, /not UTF-8 JSON/],
  ['a JSON array header', () => handMade([1, 2], Buffer.alloc(0)), /not a JSON object/],
  ['an unknown dtype', () => handMade({ a: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, Buffer.alloc(1)), /unknown dtype "Q4"/],
  ['a negative dimension', () => handMade({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, Buffer.alloc(4)), /invalid shape/],
  ['a fractional dimension', () => handMade({ a: { dtype: 'F32', shape: [1.5], data_offsets: [0, 6] } }, Buffer.alloc(6)), /invalid shape/],
  ['reversed offsets', () => handMade({ a: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, Buffer.alloc(4)), /invalid data_offsets/],
  ['a byte count that disagrees with the shape', () => handMade({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, Buffer.alloc(8)), /needs 8 bytes but data_offsets span 4/],
  ['data past the end of the file', () => handMade({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, Buffer.alloc(12)), /truncated file/],
  ['overlapping tensors', () => handMade({
    a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
  }, Buffer.alloc(12)), /"a" and "b" overlap/],
  ['an astronomically large shape', () => handMade({ a: { dtype: 'F64', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 8] } }, Buffer.alloc(8)), /too large/],
];

for (const [what, make, message] of corrupt) {
  test(`refuses ${what} with a SafetensorsError`, async (t) => {
    const path = join(tempDir(t), 'bad.safetensors');
    writeFileSync(path, make());
    await assert.rejects(SafetensorsFile.open(path), (err: Error) => err instanceof SafetensorsError && message.test(err.message));
  });
}

test('a file truncated after a valid header fails at open, naming the file', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'cut.safetensors');
  await writeSafetensors(path, [{ name: 'w', dtype: 'F32', shape: [64], data: new Float32Array(64) }]);
  const full = readFileSync(path);
  writeFileSync(path, full.subarray(0, full.length - 10));
  await assert.rejects(SafetensorsFile.open(path), (err: Error) => err instanceof SafetensorsError && err.message.includes(path) && /truncated/.test(err.message));
});

test('random corruption of a header never escapes as anything but SafetensorsError', async (t) => {
  const dir = tempDir(t);
  const good = join(dir, 'good.safetensors');
  await writeSafetensors(good, [
    { name: 'a', dtype: 'F32', shape: [3, 2], data: new Float32Array(6).fill(1) },
    { name: 'b', dtype: 'BF16', shape: [5], data: new Float32Array(5).fill(2) },
  ]);
  const original = readFileSync(good);
  const headerEnd = 8 + Number(original.readBigUInt64LE(0));
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const path = join(dir, 'fuzz.safetensors');
  for (let trial = 0; trial < 300; trial++) {
    const bytes = Buffer.from(original);
    const flips = 1 + Math.floor(rand() * 3);
    for (let f = 0; f < flips; f++) bytes[Math.floor(rand() * headerEnd)] = Math.floor(rand() * 256);
    writeFileSync(path, bytes);
    try {
      const file = await SafetensorsFile.open(path);
      for (const name of file.names()) await file.readBytes(name);
      await file.close();
    } catch (err) {
      assert.ok(err instanceof SafetensorsError, `trial ${trial}: ${(err as Error).stack}`);
    }
  }
});

test('non-float tensors are refused by the float readers but readable as bytes', async (t) => {
  const path = join(tempDir(t), 'ids.safetensors');
  writeFileSync(path, handMade({ ids: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, Buffer.from([5, 0, 0, 0, 0, 0, 0, 0])));
  const file = await SafetensorsFile.open(path);
  t.after(() => file.close());
  await assert.rejects(file.readFloat32('ids'), /dtype I64; only F32, F16 and BF16/);
  assert.deepEqual([...(await file.readBytes('ids'))], [5, 0, 0, 0, 0, 0, 0, 0]);
});

test('the writer enforces declaration order and sizes, and leaves nothing behind on failure', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'w.safetensors');
  const writer = await SafetensorsWriter.create(path, [
    { name: 'a', dtype: 'F32', shape: [2] },
    { name: 'b', dtype: 'BF16', shape: [3] },
  ]);
  await assert.rejects(writer.write('b', new Float32Array(3)), /Expected tensor "a" next, got "b"/);
  await assert.rejects(writer.write('a', new Float32Array(3)), /needs 2 values, got 3/);
  await writer.write('a', new Float32Array(2));
  await assert.rejects(writer.close(), /only 1 of 2 tensors were written/);
  assert.deepEqual(readdirSync(dir), []);
  assert.equal(existsSync(path), false);
});
