// Serialization: deterministic bytes and hash, ModelProto contents, external data round trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import * as E from '../../../src/onnx';

function tinyGraph(scale = 2): E.Graph {
  const g = new E.Graph('tiny');
  const x = g.input('x', 'float32', ['batch_size', 3]);
  const w = g.initializer('w', 'float32', [3, 2], [1, 2, 3, 4, 5, 6]);
  g.output(E.mul(E.matmul(x, w), scale), 'y');
  return g;
}

test('the same graph always serializes to the same bytes and hash', () => {
  const a = E.serialize(tinyGraph());
  const b = E.serialize(tinyGraph());
  assert.deepEqual(Buffer.from(a.bytes), Buffer.from(b.bytes));
  assert.equal(a.hash, b.hash);
  assert.match(a.hash, /^[0-9a-f]{64}$/);
  assert.notEqual(E.serialize(tinyGraph(3)).hash, a.hash);
});

test('the ModelProto has IR 10, opset 21, named dims and only live nodes', () => {
  const g = tinyGraph();
  E.exp(g.inputs[0]); // dead: not on any output's path
  const model = onnx.ModelProto.decode(E.serialize(g).bytes);
  assert.equal(Number(model.irVersion), E.IR_VERSION);
  assert.deepEqual(model.opsetImport!.map((o) => [o.domain, Number(o.version)]), [['', E.OPSET]]);
  assert.deepEqual(model.graph!.node!.map((n) => n.opType), ['MatMul', 'Mul']);
  const dims = model.graph!.input![0].type!.tensorType!.shape!.dim!;
  assert.equal(dims[0].dimParam, 'batch_size');
  assert.equal(Number(dims[1].dimValue), 3);
  assert.equal(model.graph!.output![0].name, 'y');
});

test('initializers marked external go to the data file and the model loads from its path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-ext-'));
  try {
    const g = new E.Graph('ext');
    const x = g.input('x', 'float64', [2]);
    const big = g.initializer('big', 'float64', [2], [10, 20], { external: true });
    const small = g.initializer('small', 'float64', [2], [1, 2]);
    g.output(E.add(E.mul(x, big), small), 'y');
    assert.throws(() => E.serialize(g), /external; set externalDataFile/);
    const path = join(dir, 'model.onnx');
    const saved = await E.saveModel(g, path, { externalDataFile: 'model.onnx_data' });
    assert.equal(statSync(join(dir, 'model.onnx_data')).size, 16);
    const proto = onnx.ModelProto.decode(readFileSync(path));
    const entry = proto.graph!.initializer!.find((t) => t.name === 'big')!;
    assert.equal(entry.dataLocation, onnx.TensorProto.DataLocation.EXTERNAL);
    assert.equal(saved.external?.file, 'model.onnx_data');
    const session = await E.createSession(path, { device: 'cpu' });
    const y = await session.run({ x: { dtype: 'float64', data: [1, 2], dims: [2] } });
    assert.deepEqual(Array.from(y.y.data as Float64Array), [11, 42]);
    await session.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('external initializers over one typed array are written once and both load', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-alias-'));
  try {
    const g = new E.Graph('alias');
    const x = g.input('x', 'float32', [4]);
    const data = Float32Array.of(1, 2, 3, 4);
    const a = g.initializer('a', 'float32', [4], data, { external: true });
    const b = g.initializer('b', 'float32', [2, 2], data, { external: true });
    const c = g.initializer('c', 'float32', [4], Float32Array.of(1, 2, 3, 4), { external: true }); // equal values, its own array
    g.output(E.add(E.mul(x, a), c), 'y');
    g.output(E.mul(b, 10), 'z');
    const path = join(dir, 'model.onnx');
    const saved = await E.saveModel(g, path, { externalDataFile: 'model.onnx_data' });
    assert.equal(saved.external?.bytes, 16 + 64 - 16 + 16, 'a and b share their 16 bytes; c has its own, 64-byte aligned');
    const proto = onnx.ModelProto.decode(readFileSync(path));
    const offset = (name: string) => proto.graph!.initializer!.find((t) => t.name === name)!.externalData!.find((e) => e.key === 'offset')!.value;
    assert.equal(offset('a'), offset('b'));
    assert.notEqual(offset('a'), offset('c'));
    const session = await E.createSession(path, { device: 'cpu' });
    const out = await session.run({ x: { dtype: 'float32', data: [1, 1, 1, 1], dims: [4] } });
    assert.deepEqual(Array.from(out.y.data as Float32Array), [2, 4, 6, 8]);
    assert.deepEqual(Array.from(out.z.data as Float32Array), [10, 20, 30, 40]);
    await session.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('externalThreshold moves large initializers out', async () => {
  const g = new E.Graph('threshold');
  const x = g.input('x', 'float32', [4]);
  g.output(E.add(x, g.initializer('w', 'float32', [4], [1, 2, 3, 4])), 'y');
  const m = E.serialize(g, { externalDataFile: 'w.bin', externalThreshold: 16 });
  assert.equal(m.external?.bytes, 16);
  assert.equal(E.serialize(g, { externalDataFile: 'w.bin', externalThreshold: 17 }).external, undefined);
});

test('build-time shape and dtype errors name the op and the shapes', () => {
  const g = new E.Graph();
  const a = g.input('a', 'float32', ['batch_size', 3, 4]);
  const b = g.input('b', 'float32', [5, 2]);
  assert.throws(() => E.matmul(a, b), /MatMul: inner dimensions differ: \[batch_size, 3, 4\] x \[5, 2\]/);
  assert.throws(() => E.add(a, g.input('c', 'float32', [3, 5])), /Add: shapes \[batch_size, 3, 4\] and \[3, 5\] do not broadcast/);
  assert.throws(() => E.add(a, g.input('d', 'float64', [4])), /Add: dtype mismatch between a: float32\[batch_size, 3, 4\] and d: float64\[4\]/);
  assert.throws(() => E.reshape(b, [3, 3]), /Reshape: cannot reshape \[5, 2\] \(10 elements\) to \[3, 3\] \(9\)/);
  assert.throws(() => E.transpose(a, [0, 1]), /Transpose: perm \[0,1\] is not a permutation/);
  assert.throws(() => E.concat([a, b], 0), /Concat: shapes/);
  assert.throws(() => E.softmax(a, 3), /Softmax: axis 3 is out of range for rank 3/);
  assert.throws(() => E.squeeze(a, [1]), /Squeeze: axis 1 of \[batch_size, 3, 4\] is not 1/);
  assert.throws(() => E.sqrt(g.input('i', 'int64', [2])), /Sqrt: expects a floating tensor/);
  const other = new E.Graph('other').input('z', 'float32', [4]);
  assert.throws(() => E.add(a, other), /inputs come from different graphs/);
});

test('named dims flow through shape arithmetic', () => {
  const g = new E.Graph();
  const x = g.input('x', 'float32', ['batch_size', 'sequence_length', 256]);
  const heads = E.reshape(x, E.concat([E.slice(E.shapeOf(x), [0], [2]), E.int64s(g, [4, 64])], 0));
  assert.deepEqual(heads.shape, ['batch_size', 'sequence_length', 4, 64]);
  assert.deepEqual(E.reshape(heads, [0, 0, -1]).shape, ['batch_size', 'sequence_length', 256]);
  assert.deepEqual(E.reshape(heads, [-1, 64]).shape, [null, 64]);
  const kv = g.input('past', 'float32', ['batch_size', 4, 'past_sequence_length', 64]);
  const cat = E.concat([kv, E.transpose(heads, [0, 2, 1, 3])], 2);
  assert.deepEqual(cat.shape, ['batch_size', 4, null, 64]);
  assert.deepEqual(E.matmul(heads, E.swapLast(heads)).shape, ['batch_size', 'sequence_length', 4, 4]);
});
