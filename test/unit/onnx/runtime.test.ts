// Runtime: provider selection and fallback, session cache, load failures that leave the process running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../../../src/onnx';

function doubler(): E.ModelBytes {
  const g = new E.Graph('doubler');
  const x = g.input('x', 'float32', ['n']);
  g.output(E.mul(x, 2), 'y');
  return E.serialize(g);
}

const x = { dtype: 'float32' as const, data: [1, 2, 3], dims: [3] };

test('auto candidates follow the platform, skip absent providers and end with CPU', () => {
  const supported = [{ name: 'cpu', bundled: true }, { name: 'webgpu', bundled: true }, { name: 'dml', bundled: true }, { name: 'coreml', bundled: true }];
  assert.deepEqual(E.autoCandidates('win32', supported), ['dml', 'webgpu', 'cpu']);
  assert.deepEqual(E.autoCandidates('darwin', supported), ['coreml', 'webgpu', 'cpu']);
  assert.deepEqual(E.autoCandidates('linux', [{ name: 'cpu', bundled: true }]), ['cpu']);
  // CUDA is not bundled; without its provider library installed it is not a candidate.
  assert.deepEqual(E.autoCandidates('linux', [{ name: 'cpu', bundled: true }, { name: 'cuda', bundled: false }]), ['cpu']);
});

test('a provider that cannot start falls back along the list, logging the reason', async () => {
  const logs: string[] = [];
  const session = await E.createSession(doubler(), { device: ['coreml', 'cpu'], log: (m) => logs.push(m) });
  assert.equal(session.device, 'cpu');
  assert.equal(logs.length, 1);
  assert.match(logs[0], /provider coreml unavailable, falling back \(.*coreml/);
  assert.deepEqual(Array.from((await session.run({ x })).y.data as Float32Array), [2, 4, 6]);
  await session.release();
});

test('auto ends on a working provider', async () => {
  const session = await E.createSession(doubler(), { device: 'auto', intraOpThreads: 1, log: () => undefined });
  assert.ok(E.autoCandidates().includes(session.device));
  assert.deepEqual(Array.from((await session.run({ x })).y.data as Float32Array), [2, 4, 6]);
  await session.release();
});

test('an explicitly requested provider that is missing is a clear error', async () => {
  await assert.rejects(E.createSession(doubler(), { device: 'dml' }), (e: unknown) => {
    assert.ok(e instanceof E.ModelLoadError);
    assert.match(e.message, /could not load model [0-9a-f]{12} .* on dml:\ndml: /);
    return true;
  });
});

test('a graph with an unknown op fails to load with a clear error and the process goes on', async () => {
  const g = new E.Graph('bad');
  const a = g.input('a', 'float32', [2]);
  const bogus = E.defineOp({ opType: 'NoSuchOp', infer: ([t]) => [{ dtype: t!.dtype, shape: t!.shape }] });
  g.output(E.apply(bogus, [a], {})[0], 'out');
  await assert.rejects(E.createSession(E.serialize(g), { device: 'cpu' }), (e: unknown) => {
    assert.ok(e instanceof E.ModelLoadError);
    assert.match(e.message, /NoSuchOp/);
    return true;
  });
  const ok = await E.createSession(doubler(), { device: 'cpu' });
  assert.deepEqual(Array.from((await ok.run({ x })).y.data as Float32Array), [2, 4, 6]);
  await ok.release();
});

test('bad external data (missing or truncated file) fails to load with a clear error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-bad-ext-'));
  try {
    const g = new E.Graph('ext');
    const v = g.input('v', 'float32', [4]);
    g.output(E.add(v, g.initializer('w', 'float32', [4], [1, 2, 3, 4], { external: true })), 'y');
    const path = join(dir, 'm.onnx');
    await E.saveModel(g, path, { externalDataFile: 'm.data' });
    writeFileSync(join(dir, 'm.data'), new Uint8Array(3));
    await assert.rejects(E.createSession(path, { device: 'cpu' }), E.ModelLoadError);
    rmSync(join(dir, 'm.data'));
    await assert.rejects(E.createSession(path, { device: 'cpu' }), /m\.data|external|No such file/i);
    // Bytes with external references cannot be loaded from memory.
    await assert.rejects(E.createSession(E.serialize(g, { externalDataFile: 'm.data' }), { device: 'cpu' }), /saved with saveModel/);
    // Garbage is not a model.
    writeFileSync(path, 'not a model');
    await assert.rejects(E.createSession(path, { device: 'cpu' }), E.ModelLoadError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the session cache keys on graph hash and options and does not keep failures', async () => {
  const cache = new E.SessionCache();
  const m = doubler();
  const a = await cache.get(m, { device: 'cpu', intraOpThreads: 1 });
  assert.equal(await cache.get(doubler(), { device: 'cpu', intraOpThreads: 1 }), a);
  assert.notEqual(await cache.get(m, { device: 'cpu', intraOpThreads: 2 }), a);
  assert.equal(cache.size, 2);
  const broken = { ...m, bytes: new Uint8Array([1, 2, 3]), hash: 'broken' };
  await assert.rejects(cache.get(broken, { device: 'cpu' }), E.ModelLoadError);
  assert.equal(cache.size, 2);
  await assert.rejects(cache.get(join(tmpdir(), 'no-such-model.onnx'), { device: 'cpu' }), E.ModelLoadError);
  await cache.clear();
  assert.equal(cache.size, 0);
});

test('run reports missing inputs by name', async () => {
  const s = await E.createSession(doubler(), { device: 'cpu' });
  await assert.rejects(s.run({}), /missing inputs x/);
  await s.release();
});

test('pre-allocated output tensors are filled in place (the IO reuse onnxruntime-node allows)', async () => {
  const s = await E.createSession(doubler(), { device: 'cpu' });
  const buffer = new Float32Array(3);
  await s.run({ x }, { y: new E.ort.Tensor('float32', buffer, [3]) });
  assert.deepEqual(Array.from(buffer), [2, 4, 6]);
  await s.run({ x: { ...x, data: [5, 6, 7] } }, { y: new E.ort.Tensor('float32', buffer, [3]) });
  assert.deepEqual(Array.from(buffer), [10, 12, 14]);
  await s.release();
});
