// Ops whose outputs carry no gradient: comparisons, logic, index search.
import { defineOp, apply, lift, type Tensor, type TensorLike, requireSameDType, type OpDef } from '../graph';
import { broadcastShapes } from '../shape';

function comparison(opType: string): OpDef {
  return defineOp({
    opType,
    noGrad: true,
    infer: (xs) => {
      const [a, b] = xs as Tensor[];
      requireSameDType(opType, [a, b]);
      return [{ dtype: 'bool', shape: broadcastShapes(opType, [a.shape, b.shape]) }];
    },
  });
}

const equalOp = comparison('Equal');
const lessOp = comparison('Less');
const greaterOp = comparison('Greater');
const lessOrEqualOp = comparison('LessOrEqual');
const greaterOrEqualOp = comparison('GreaterOrEqual');

function logic(opType: string): OpDef {
  return defineOp({
    opType,
    noGrad: true,
    infer: (xs) => {
      for (const x of xs) if (x!.dtype !== 'bool') throw new Error(`${opType}: expects bool tensors, got ${x}`);
      return [{ dtype: 'bool', shape: broadcastShapes(opType, xs.map((x) => x!.shape)) }];
    },
  });
}

const andOp = logic('And');
const orOp = logic('Or');
const notOp = logic('Not');

export const equal = (a: TensorLike, b: TensorLike): Tensor => apply(equalOp, lift('Equal', [a, b]), {})[0];
export const less = (a: TensorLike, b: TensorLike): Tensor => apply(lessOp, lift('Less', [a, b]), {})[0];
export const greater = (a: TensorLike, b: TensorLike): Tensor => apply(greaterOp, lift('Greater', [a, b]), {})[0];
export const lessOrEqual = (a: TensorLike, b: TensorLike): Tensor => apply(lessOrEqualOp, lift('LessOrEqual', [a, b]), {})[0];
export const greaterOrEqual = (a: TensorLike, b: TensorLike): Tensor =>
  apply(greaterOrEqualOp, lift('GreaterOrEqual', [a, b]), {})[0];
export const and = (a: Tensor, b: Tensor): Tensor => apply(andOp, [a, b], {})[0];
export const or = (a: Tensor, b: Tensor): Tensor => apply(orOp, [a, b], {})[0];
export const not = (a: Tensor): Tensor => apply(notOp, [a], {})[0];

const nonZeroOp = defineOp({
  opType: 'NonZero',
  noGrad: true,
  infer: ([x]) => [{ dtype: 'int64', shape: [x!.rank, null] }],
});

/** Indices of non-zero elements, [rank, count]. */
export const nonZero = (x: Tensor): Tensor => apply(nonZeroOp, [x], {})[0];

const argMaxOp = defineOp<{ axis: number; keepdims: number }>({
  opType: 'ArgMax',
  attrKinds: { axis: 'int', keepdims: 'int' },
  noGrad: true,
  infer: ([x], { axis, keepdims }) => {
    const a = axis < 0 ? axis + x!.rank : axis;
    const shape = x!.shape.flatMap((d, i) => (i === a ? (keepdims ? [1] : []) : [d]));
    return [{ dtype: 'int64', shape }];
  },
});

export const argMax = (x: Tensor, axis = -1, keepdims = false): Tensor =>
  apply(argMaxOp, [x], { axis, keepdims: keepdims ? 1 : 0 })[0];
