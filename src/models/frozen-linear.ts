// x @ W for a frozen weight W [in, out], with a gradient rule that never transposes W. The generic
// MatMul rule computes dx = g @ W^T; with W a constant, ONNX Runtime folds that Transpose into a
// second copy of every weight when the training session loads (about 2 GB more for a 0.5B model).
// Here dx = (W @ g^T)^T instead: the transposes fall on activations.
import { type Tensor, ShapeError, apply, defineOp, matmul, reshape, shapeOf, swapLast, transpose, unbroadcast } from '../onnx';

const frozenLinearOp = defineOp({
  opType: 'MatMul',
  infer: (xs) => {
    const [x, w] = xs as Tensor[];
    if (w.rank !== 2 || typeof w.shape[1] !== 'number' || x.rank < 2 || x.dtype !== w.dtype) throw new ShapeError(`frozenLinear: expects x [..., in] and W [in, out] of one dtype, got ${x} and ${w}`);
    const inner = x.shape[x.rank - 1];
    if (typeof inner === 'number' && typeof w.shape[0] === 'number' && inner !== w.shape[0]) {
      throw new ShapeError(`frozenLinear: inner dimensions differ: ${x} x ${w}`);
    }
    return [{ dtype: x.dtype, shape: [...x.shape.slice(0, -1), w.shape[1]] }];
  },
  vjp: ({ inputs: [x, w], grads: [g], needs }) => [
    needs[0] ? inputGrad(x!, w!, g!) : undefined,
    // Only reached when a weight itself is trained (not LoRA); the plain rule is fine there.
    needs[1] ? unbroadcast(matmul(swapLast(x!), g!), w!) : undefined,
  ],
});

/** dx = (W @ g^T)^T on 2-D views: a batched right operand would make the runtime broadcast W. */
function inputGrad(x: Tensor, w: Tensor, g: Tensor): Tensor {
  const flat = reshape(g, [-1, w.shape[1] as number]);
  const dx = transpose(matmul(w, transpose(flat, [1, 0])), [1, 0]);
  return reshape(dx, shapeOf(x));
}

export function frozenLinear(x: Tensor, w: Tensor): Tensor {
  return apply(frozenLinearOp, [x, w], {})[0];
}
