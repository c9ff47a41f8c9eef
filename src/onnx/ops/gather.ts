// Indexing ops: Gather and GatherElements (gradients to the data through Scatter* with reduction "add"),
// and the scatter ops those rules emit.
import { defineOp, apply, type Tensor } from '../graph';
import { type Dim, ShapeError, formatShape, normAxis } from '../shape';
import { add, where } from './arithmetic';
import { less } from './compare';
import { cast } from './unary';
import { dimOf, zerosLike } from './helpers';
import { transpose, unsqueeze } from './shape-ops';

function requireIndices(op: string, t: Tensor): void {
  if (t.dtype !== 'int64' && t.dtype !== 'int32') throw new ShapeError(`${op}: indices must be int64 or int32, got ${t}`);
}

/** Negative indices count from the end; the scatter rules want them made non-negative. */
function nonNegative(indices: Tensor, data: Tensor, axis: number): Tensor {
  const idx = cast(indices, 'int64');
  return where(less(idx, 0), add(idx, dimOf(data, axis)), idx);
}

const gatherOp = defineOp<{ axis: number }>({
  opType: 'Gather',
  attrKinds: { axis: 'int' },
  infer: ([data, idx], { axis }) => {
    requireIndices('Gather', idx!);
    const a = normAxis('Gather', axis, data!.rank);
    const shape = [...data!.shape.slice(0, a), ...idx!.shape, ...data!.shape.slice(a + 1)];
    let value: Dim[] | undefined;
    const iv = idx!.value;
    if (data!.value && data!.rank === 1 && iv && iv.every((i) => typeof i === 'number')) {
      const v = data!.value;
      value = (iv as number[]).map((i) => v[i < 0 ? i + v.length : i] ?? null);
    }
    return [{ dtype: data!.dtype, shape, value }];
  },
  vjp: ({ inputs: [data, idx], grads: [g], attrs: { axis } }) => [gatherGrad(data!, idx!, g!, normAxis('Gather', axis, data!.rank)), undefined],
});

/** Scatter-adds the gradient rows into zeros of the data's shape (axis moved to the front when needed). */
function gatherGrad(data: Tensor, idx: Tensor, g: Tensor, axis: number): Tensor {
  const indices = unsqueeze(nonNegative(idx, data, axis), [-1]);
  if (axis === 0) return scatterND(zerosLike(data), indices, g, 'add');
  const r = data.rank;
  const q = idx.rank;
  const dataPerm = [axis, ...[...Array(r).keys()].filter((i) => i !== axis)];
  const gradPerm = [...Array(q).keys()].map((i) => axis + i);
  for (let i = 0; i < g.rank; i++) if (i < axis || i >= axis + q) gradPerm.push(i);
  const moved = scatterND(zerosLike(transpose(data, dataPerm)), indices, transpose(g, gradPerm), 'add');
  const back = new Array<number>(r);
  dataPerm.forEach((p, i) => (back[p] = i));
  return transpose(moved, back);
}

export const gather = (data: Tensor, indices: Tensor, axis = 0): Tensor => apply(gatherOp, [data, indices], { axis })[0];

const gatherElementsOp = defineOp<{ axis: number }>({
  opType: 'GatherElements',
  attrKinds: { axis: 'int' },
  infer: ([data, idx], { axis }) => {
    requireIndices('GatherElements', idx!);
    normAxis('GatherElements', axis, data!.rank);
    if (idx!.rank !== data!.rank) {
      throw new ShapeError(`GatherElements: indices ${formatShape(idx!.shape)} and data ${formatShape(data!.shape)} differ in rank`);
    }
    return [{ dtype: data!.dtype, shape: idx!.shape }];
  },
  vjp: ({ inputs: [data, idx], grads: [g], attrs: { axis } }) => {
    const a = normAxis('GatherElements', axis, data!.rank);
    return [scatterElements(zerosLike(data!), nonNegative(idx!, data!, a), g!, a, 'add'), undefined];
  },
});

export const gatherElements = (data: Tensor, indices: Tensor, axis: number): Tensor =>
  apply(gatherElementsOp, [data, indices], { axis })[0];

type Reduction = 'none' | 'add' | 'mul' | 'max' | 'min';

const scatterNDOp = defineOp<{ reduction: Reduction }>({
  opType: 'ScatterND',
  attrKinds: { reduction: 'string' },
  infer: ([data]) => [{ dtype: data!.dtype, shape: data!.shape }],
});

/** ScatterND (no gradient rule; used by Gather's rule). */
export const scatterND = (data: Tensor, indices: Tensor, updates: Tensor, reduction: Reduction = 'none'): Tensor =>
  apply(scatterNDOp, [data, indices, updates], { reduction })[0];

const scatterElementsOp = defineOp<{ axis: number; reduction: Reduction }>({
  opType: 'ScatterElements',
  attrKinds: { axis: 'int', reduction: 'string' },
  infer: ([data]) => [{ dtype: data!.dtype, shape: data!.shape }],
});

/** ScatterElements (no gradient rule; used by GatherElements' rule). */
export const scatterElements = (data: Tensor, indices: Tensor, updates: Tensor, axis: number, reduction: Reduction = 'none'): Tensor =>
  apply(scatterElementsOp, [data, indices, updates], { axis, reduction })[0];
