// Elementwise unary ops, Cast, Identity and Softmax/LogSoftmax: forward and vector-Jacobian rules.
import { defineOp, apply, identityOp, type Tensor, type OpDef, type VjpArgs, requireFloat } from '../graph';
import { type DType, isFloat } from '../dtype';
import { normAxis } from '../shape';
import { mul, div, sub, neg } from './arithmetic';
import { reduceSum } from './reduce';

type UnaryRule = (x: Tensor, y: Tensor, g: Tensor) => Tensor;

function unary(opType: string, rule: UnaryRule): OpDef {
  return defineOp({
    opType,
    infer: ([x]) => {
      requireFloat(opType, x!);
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
    vjp: ({ inputs: [x], outputs: [y], grads: [g] }: VjpArgs<Record<string, never>>) => [rule(x!, y, g!)],
  });
}

const ops = {
  sqrt: unary('Sqrt', (_x, y, g) => div(g, mul(y, 2))),
  reciprocal: unary('Reciprocal', (_x, y, g) => neg(mul(g, mul(y, y)))),
  exp: unary('Exp', (_x, y, g) => mul(g, y)),
  log: unary('Log', (x, _y, g) => div(g, x)),
  sigmoid: unary('Sigmoid', (_x, y, g) => mul(g, mul(y, sub(1, y)))),
  tanh: unary('Tanh', (_x, y, g) => mul(g, sub(1, mul(y, y)))),
  cos: unary('Cos', (x, _y, g) => neg(mul(g, sin(x)))),
  sin: unary('Sin', (x, _y, g) => mul(g, cos(x))),
};

export const sqrt = (x: Tensor): Tensor => apply(ops.sqrt, [x], {})[0];
export const reciprocal = (x: Tensor): Tensor => apply(ops.reciprocal, [x], {})[0];
export const exp = (x: Tensor): Tensor => apply(ops.exp, [x], {})[0];
export const log = (x: Tensor): Tensor => apply(ops.log, [x], {})[0];
export const sigmoid = (x: Tensor): Tensor => apply(ops.sigmoid, [x], {})[0];
export const tanh = (x: Tensor): Tensor => apply(ops.tanh, [x], {})[0];
export const cos = (x: Tensor): Tensor => apply(ops.cos, [x], {})[0];
export const sin = (x: Tensor): Tensor => apply(ops.sin, [x], {})[0];
export const identity = (x: Tensor): Tensor => apply(identityOp, [x], {})[0];

const castOp = defineOp<{ to: DType }>({
  opType: 'Cast',
  attrKinds: { to: 'int' },
  infer: ([x], { to }) => [{ dtype: to, shape: x!.shape, value: to === 'int64' ? x!.value : undefined }],
  vjp: ({ inputs: [x], grads: [g] }) => [isFloat(x!.dtype) && isFloat(g!.dtype) ? cast(g!, x!.dtype) : undefined],
});

export function cast(x: Tensor, to: DType): Tensor {
  if (x.dtype === to) return x;
  return apply(castOp, [x], { to })[0];
}

function softmaxLike(opType: string, rule: (y: Tensor, g: Tensor, axis: number) => Tensor): OpDef<{ axis: number }> {
  return defineOp<{ axis: number }>({
    opType,
    attrKinds: { axis: 'int' },
    infer: ([x], { axis }) => {
      requireFloat(opType, x!);
      normAxis(opType, axis, x!.rank);
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
    vjp: ({ outputs: [y], grads: [g], attrs: { axis } }) => [rule(y, g!, axis)],
  });
}

// dx = y * (g - sum(g * y))
const softmaxOp = softmaxLike('Softmax', (y, g, axis) => mul(y, sub(g, reduceSum(mul(g, y), [axis], true))));
// dx = g - softmax * sum(g), softmax = exp(y)
const logSoftmaxOp = softmaxLike('LogSoftmax', (y, g, axis) => sub(g, mul(exp(y), reduceSum(g, [axis], true))));

export const softmax = (x: Tensor, axis = -1): Tensor => apply(softmaxOp, [x], { axis })[0];
export const logSoftmax = (x: Tensor, axis = -1): Tensor => apply(logSoftmaxOp, [x], { axis })[0];

