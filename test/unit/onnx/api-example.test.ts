// The usage example of docs/engine.md ("API"), run as written, with its gradient checked by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, matmul, mul, tanh, reduceSum, grad, serialize, createSession } from '../../../src/onnx';

test('the documented tiny graph builds, differentiates and runs', async () => {
  const g = new Graph('tiny');
  const x = g.input('x', 'float32', ['batch_size', 3]);
  const w = g.initializer('w', 'float32', [3, 2], [0.1, 0.2, 0.3, -0.1, 0.05, 0.02]);
  const y = matmul(x, w);
  assert.deepEqual(y.shape, ['batch_size', 2]);
  const loss = reduceSum(mul(tanh(y), y), undefined, false);
  const [gw] = grad(loss, [w]);
  g.output(y, 'y');
  g.output(gw, 'grad_w');
  const session = await createSession(serialize(g), { device: 'auto', intraOpThreads: 2, log: () => undefined });
  const xs = [1, 2, 3, 4, 5, 6];
  const out = await session.run({ x: { dtype: 'float32', data: xs, dims: [2, 3] } });
  // d/dy sum(tanh(y) y) = tanh(y) + y (1 - tanh(y)^2); grad_w = x^T dy.
  const yv = Array.from(out.y.data as Float32Array);
  const dy = yv.map((v) => Math.tanh(v) + v * (1 - Math.tanh(v) ** 2));
  const expected = [0, 1, 2].flatMap((i) => [0, 1].map((j) => xs[i] * dy[j] + xs[3 + i] * dy[2 + j]));
  Array.from(out.grad_w.data as Float32Array).forEach((v, k) => assert.ok(Math.abs(v - expected[k]) < 1e-5, `${v} vs ${expected[k]}`));
  await session.release();
});
