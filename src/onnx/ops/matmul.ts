// MatMul with batch broadcasting: forward, inference and vector-Jacobian rule.
import { defineOp, apply, requireSameDType, type Tensor } from '../graph';
import { ShapeError, formatShape, broadcastShapes, compatibleDim } from '../shape';
import { unbroadcast } from './helpers';
import { transpose } from './shape-ops';

const matmulOp = defineOp({
  opType: 'MatMul',
  infer: (xs) => {
    const [a, b] = xs as Tensor[];
    requireSameDType('MatMul', [a, b]);
    if (a.rank === 0 || b.rank === 0) throw new ShapeError(`MatMul: scalars are not allowed (${a} x ${b})`);
    const as = a.rank === 1 ? [1, a.shape[0]] : [...a.shape];
    const bs = b.rank === 1 ? [b.shape[0], 1] : [...b.shape];
    if (!compatibleDim(as[as.length - 1], bs[bs.length - 2])) {
      throw new ShapeError(`MatMul: inner dimensions differ: ${formatShape(a.shape)} x ${formatShape(b.shape)}`);
    }
    const batch = broadcastShapes('MatMul', [as.slice(0, -2), bs.slice(0, -2)]);
    const shape = [...batch, ...(a.rank === 1 ? [] : [as[as.length - 2]]), ...(b.rank === 1 ? [] : [bs[bs.length - 1]])];
    return [{ dtype: a.dtype, shape }];
  },
  vjp: ({ inputs: [a, b], grads: [g], needs }) => {
    if (a!.rank < 2 || b!.rank < 2) throw new Error('MatMul gradient: operands of rank 1 are not supported; unsqueeze them');
    return [
      needs[0] ? unbroadcast(matmul(g!, swapLast(b!)), a!) : undefined,
      needs[1] ? unbroadcast(matmul(swapLast(a!), g!), b!) : undefined,
    ];
  },
});

/** Swaps the last two axes. */
export function swapLast(x: Tensor): Tensor {
  const perm = [...Array(x.rank).keys()];
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1], perm[x.rank - 2]];
  return transpose(x, perm);
}

/** Batched matrix product with numpy broadcasting of the batch axes. */
export const matmul = (a: Tensor, b: Tensor): Tensor => apply(matmulOp, [a, b], {})[0];
