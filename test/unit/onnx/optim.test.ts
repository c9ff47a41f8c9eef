// AdamW and gradient clipping against values worked out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdamW, clipGradNorm, globalNorm } from '../../../src/onnx';

const close = (actual: number, expected: number, tol = 1e-6): void =>
  assert.ok(Math.abs(actual - expected) <= tol, `${actual} != ${expected}`);

test('AdamW: decoupled decay and bias-corrected moments, step by step', () => {
  const w = new Float32Array([1]);
  const frozenish = new Float32Array([-2]);
  const opt = new AdamW({ w, z: frozenish }, { lr: 0.1, weightDecay: 0.01 });
  // Step 1, g = 0.5: decay 1 -> 0.999; m = 0.05, v = 0.00025; m^ = 0.5, v^ = 0.25;
  // p = 0.999 - 0.1 * 0.5 / (0.5 + 1e-8) = 0.899000002.
  opt.step({ w: new Float32Array([0.5]), z: new Float32Array([0]) });
  close(w[0], 0.899000002);
  // Zero gradient: only the decay moves z: -2 * (1 - 0.001) = -1.998.
  close(frozenish[0], -1.998);
  // Step 2, g = -0.25: decay -> 0.898101001998; m = 0.045 - 0.025 = 0.02, v = 0.00024975 + 0.0000625 = 0.00031225;
  // m^ = 0.02 / 0.19 = 0.1052631579, v^ = 0.00031225 / 0.001999 = 0.1562031016, sqrt = 0.3952253809;
  // p = 0.898101002 - 0.1 * 0.1052631579 / 0.3952253809 = 0.8714672987.
  opt.step({ w: new Float32Array([-0.25]), z: new Float32Array([0]) });
  close(w[0], 0.8714672987);
  assert.equal(opt.stepCount, 2);
});

test('AdamW: without decay, the first step moves each weight by lr against the gradient sign', () => {
  const p = new Float32Array([0.3, -0.7, 2]);
  new AdamW(new Map([['p', p]]), { lr: 0.01, weightDecay: 0 }).step(new Map([['p', new Float32Array([4, -0.001, 0])]]));
  close(p[0], 0.29);
  close(p[1], -0.69, 1e-5); // |g| = 0.001 against eps = 1e-8 still gives ~lr
  close(p[2], 2);
});

test('AdamW: state round-trips and resumes identically', () => {
  const a = new Float32Array([1, 2]);
  const b = new Float32Array([1, 2]);
  const optA = new AdamW({ a }, { lr: 0.05 });
  optA.step({ a: new Float32Array([0.3, -0.1]) });
  const optB = new AdamW({ a: b }, { lr: 0.05 });
  b.set(a);
  optB.load(optA.state());
  optA.step({ a: new Float32Array([0.2, 0.2]) });
  optB.step({ a: new Float32Array([0.2, 0.2]) });
  assert.deepEqual(Array.from(b), Array.from(a));
});

test('AdamW: a missing or misshaped gradient is an error', () => {
  const opt = new AdamW({ a: new Float32Array(2), b: new Float32Array(1) }, { lr: 0.1 });
  assert.throws(() => opt.step({ a: new Float32Array(2) }), /no gradient for b/);
  assert.throws(() => opt.step({ a: new Float32Array(3), b: new Float32Array(1) }), /gradient for a has 3 values, parameter 2/);
});

test('global-norm clipping scales every gradient by maxNorm / norm', () => {
  const grads = { a: new Float32Array([3, 4]), b: new Float32Array([12]) };
  assert.equal(globalNorm(grads), 13); // sqrt(9 + 16 + 144)
  const { norm, scale } = clipGradNorm(grads, 6.5);
  assert.equal(norm, 13);
  assert.equal(scale, 0.5);
  assert.deepEqual([...grads.a, ...grads.b], [1.5, 2, 6]);
  // Under the limit nothing changes.
  assert.deepEqual(clipGradNorm(grads, 100), { norm: 6.5, scale: 1 });
  assert.deepEqual([...grads.a, ...grads.b], [1.5, 2, 6]);
  // A non-finite norm is reported and leaves the gradients alone.
  const bad = { a: new Float32Array([NaN, 1]) };
  assert.ok(Number.isNaN(clipGradNorm(bad, 1).norm));
  assert.equal(bad.a[1], 1);
});
