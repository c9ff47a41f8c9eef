// Autodiff behaviour beyond single rules: the checker catches wrong rules, unreached parameters are
// reported, ops without rules on the path are rejected, integer paths carry no gradient.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../../src/onnx';
import { gradCheck } from './gradcheck';

// Sin with a rule that is off by 0.1% — the finite-difference check must notice.
const wrongSinOp = E.defineOp({
  opType: 'Sin',
  infer: ([x]) => [{ dtype: x!.dtype, shape: x!.shape }],
  vjp: ({ inputs: [x], grads: [g] }) => [E.mul(E.mul(g!, E.cos(x!)), 1.001)],
});

// Sin with the sign of its rule flipped.
const wrongSignOp = E.defineOp({
  opType: 'Sin',
  infer: ([x]) => [{ dtype: x!.dtype, shape: x!.shape }],
  vjp: ({ inputs: [x], grads: [g] }) => [E.neg(E.mul(g!, E.cos(x!)))],
});

test('the gradient check catches a slightly wrong rule', async () => {
  const result = await gradCheck({ name: 'wrong sin', inputs: { x: { shape: [3, 4] } }, build: ({ x }) => E.apply(wrongSinOp, [x], {})[0] });
  assert.ok(result.relError > 5e-4, `a 0.1% error went unnoticed (relative error ${result.relError})`);
  const sign = await gradCheck({ name: 'wrong sign', inputs: { x: { shape: [2, 2] } }, build: ({ x }) => E.apply(wrongSignOp, [x], {})[0] });
  assert.ok(sign.relError > 1, `a sign error went unnoticed (relative error ${sign.relError})`);
});

test('parameters the loss does not reach are reported, not given zeros', () => {
  const g = new E.Graph();
  const x = g.input('x', 'float64', [2, 2]);
  const used = g.input('used', 'float64', [2, 2]);
  const unused = g.input('lora_unused', 'float64', [2, 2]);
  const viaShape = g.input('only_shape', 'float64', [2, 2]);
  const loss = E.reduceSum(E.add(E.mul(x, used), E.cast(E.size(viaShape), 'float64')), undefined, false);
  assert.throws(() => E.grad(loss, [used, unused, viaShape]), (e: unknown) => {
    assert.ok(e instanceof E.UnreachedError);
    assert.deepEqual(e.unreached.map((t) => t.name), ['lora_unused', 'only_shape']);
    assert.match(e.message, /lora_unused, only_shape/);
    return true;
  });
  const { grads, unreached } = E.gradients(loss, [used, unused]);
  assert.equal(grads[1], undefined);
  assert.deepEqual(unreached, [unused]);
  assert.ok(grads[0] instanceof E.Tensor);
});

test('an op without a gradient rule on the path is an error naming the op', () => {
  const g = new E.Graph();
  const x = g.input('x', 'float32', [2, 3]);
  const loss = E.reduceSum(E.reduceMax(x, [1]), undefined, false);
  assert.throws(() => E.grad(loss, [x]), /ReduceMax has no gradient rule/);
});

test('integer and comparison paths carry no gradient; float paths next to them do', async () => {
  const g = new E.Graph();
  const x = g.input('x', 'float64', [2, 3]);
  // argMax feeds an index: no gradient through it, but the values it selects do get one.
  const picked = E.gatherElements(x, E.argMax(x, 1, true), 1);
  const mask = E.cast(E.greater(x, 0), 'float64');
  const loss = E.add(E.reduceSum(picked, undefined, false), E.reduceSum(E.mul(mask, x), undefined, false));
  const [gx] = E.grad(loss, [x]);
  g.output(gx, 'gx');
  const session = await E.createSession(E.serialize(g), { device: 'cpu' });
  const data = [0.5, -2, 1, -1, -3, -0.5];
  const out = (await session.run({ x: { dtype: 'float64', data, dims: [2, 3] } })).gx.data as Float64Array;
  // One-hot at each row's max (columns 2 and 2) plus the mask x > 0.
  assert.deepEqual(Array.from(out), [1, 0, 2, 0, 0, 1]);
  await session.release();
});

test('the seed must match a multi-element loss', () => {
  const g = new E.Graph();
  const x = g.input('x', 'float32', [2, 3]);
  assert.throws(() => E.grad(E.mul(x, x), [x]), /more than one element; reduce it or pass a seed/);
  const seed = g.input('seed', 'float32', [2, 3]);
  assert.equal(E.grad(E.mul(x, x), [x], { seed })[0].rank, 2);
});
