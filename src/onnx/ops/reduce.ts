// Reductions over static axes: forward, inference and vector-Jacobian rules.
import { defineOp, apply, int64s, type Tensor, type OpDef } from '../graph';
import { type Dim, normAxis, isStatic, numel } from '../shape';
import { expand, unsqueeze, size } from './shape-ops';
import { div } from './arithmetic';
import { cast } from './unary';
import { shapeOf } from './helpers';

interface ReduceAttrs { keepdims: number; noop_with_empty_axes: number }

/** Axes a reduce node reduces: its static axes input, or all axes. */
function reducedAxes(opType: string, x: Tensor, axes: Tensor | undefined): number[] | undefined {
  if (!axes) return x.shape.map((_, i) => i);
  const v = axes.value;
  if (!v || !v.every((d) => typeof d === 'number')) return undefined;
  if (v.length === 0) return x.shape.map((_, i) => i);
  return (v as number[]).map((a) => normAxis(opType, a, x.rank));
}

function reduceOp(opType: string, vjp?: OpDef<ReduceAttrs>['vjp']): OpDef<ReduceAttrs> {
  return defineOp<ReduceAttrs>({
    opType,
    attrKinds: { keepdims: 'int', noop_with_empty_axes: 'int' },
    infer: ([x, axesT], { keepdims }) => {
      const axes = reducedAxes(opType, x!, axesT);
      if (!axes) {
        if (!keepdims) throw new Error(`${opType}: axes known only at run time need keepdims=1 (rank must stay static)`);
        return [{ dtype: x!.dtype, shape: x!.shape.map((): Dim => null) }];
      }
      const shape = x!.shape.flatMap((d, i) => (axes.includes(i) ? (keepdims ? [1] : []) : [d]));
      return [{ dtype: x!.dtype, shape }];
    },
    vjp,
  });
}

/** Broadcasts an output gradient back over the reduced axes of x. */
function spread(x: Tensor, axesT: Tensor | undefined, g: Tensor, keepdims: number): Tensor {
  const axes = reducedAxes('reduce gradient', x, axesT);
  if (!axes) throw new Error('reduce gradient: reduction axes must be static');
  const kept = keepdims ? g : unsqueeze(g, axes);
  return expand(kept, shapeOf(x));
}

const reduceSumOp = reduceOp('ReduceSum', ({ inputs: [x, axes], grads: [g], attrs }) => [spread(x!, axes, g!, attrs.keepdims)]);

const reduceMeanOp = reduceOp('ReduceMean', ({ inputs: [x, axes], outputs: [y], grads: [g], attrs }) => {
  const spreadG = spread(x!, axes, g!, attrs.keepdims);
  // The count of reduced elements: static when shapes are, else Size(x)/Size(y) at run time.
  const count = isStatic(x!.shape) && isStatic(y.shape)
    ? numel(x!.shape as number[]) / numel(y.shape as number[])
    : div(cast(size(x!), g!.dtype), cast(size(y), g!.dtype));
  return [div(spreadG, count)];
});

const reduceMaxOp = reduceOp('ReduceMax');

function reduceWith(op: OpDef<ReduceAttrs>, x: Tensor, axes: number[] | Tensor | undefined, keepdims: boolean): Tensor {
  const axesT = axes === undefined ? undefined : Array.isArray(axes) ? int64s(x.graph, axes) : (axes as Tensor);
  if (Array.isArray(axes) && axes.length === 0) throw new Error(`${op.opType}: pass undefined (not []) to reduce over all axes`);
  return apply(op, [x, axesT], { keepdims: keepdims ? 1 : 0, noop_with_empty_axes: axesT && !Array.isArray(axes) ? 1 : 0 })[0];
}

/** Sum over `axes` (all axes when omitted). A run-time axes tensor needs keepdims. */
export const reduceSum = (x: Tensor, axes?: number[] | Tensor, keepdims = true): Tensor => reduceWith(reduceSumOp, x, axes, keepdims);
export const reduceMean = (x: Tensor, axes?: number[], keepdims = true): Tensor => reduceWith(reduceMeanOp, x, axes, keepdims);
/** Max over axes. No gradient rule: use it only off the differentiated path (e.g. for stabilizing constants). */
export const reduceMax = (x: Tensor, axes?: number[], keepdims = true): Tensor => reduceWith(reduceMaxOp, x, axes, keepdims);
