// Ops that move data without arithmetic: forward, shape inference (incl. named dims) and vector-Jacobian rules.
import { defineOp, apply, int64s, type Tensor, type ConstTensor, type OpDef, requireSameDType } from '../graph';
import { type DType, typedArrayFrom } from '../dtype';
import { type Dim, ShapeError, formatShape, normAxis, broadcastShapes, compatibleDim } from '../shape';
import { shapeOf, unbroadcast, zerosLike, dimOf } from './helpers';
import { add, sub, where, max, min } from './arithmetic';
import { less } from './compare';

type IntsArg = readonly number[] | Tensor;

function intsTensor(x: Tensor, v: IntsArg): Tensor {
  return Array.isArray(v) ? int64s(x.graph, v) : (v as Tensor);
}

/** Static length of a 1-D int64 argument; ranks must stay static. */
function argLength(op: string, t: Tensor): number {
  if (t.dtype !== 'int64' || t.rank !== 1 || typeof t.shape[0] !== 'number') {
    throw new ShapeError(`${op}: expects a 1-D int64 tensor of static length, got ${t}`);
  }
  return t.shape[0];
}

function argValues(op: string, t: Tensor | undefined): readonly Dim[] | undefined {
  if (!t) return undefined;
  const n = argLength(op, t);
  return t.value ?? new Array<Dim>(n).fill(null);
}

const shapeOp = defineOp({
  opType: 'Shape',
  noGrad: true,
  infer: ([x]) => [{ dtype: 'int64', shape: [x!.rank], value: x!.shape }],
});

/** The run-time shape of x (prefer shapeOf, which folds static shapes to constants). */
export const shapeNode = (x: Tensor): Tensor => apply(shapeOp, [x], {})[0];

const sizeOp = defineOp({
  opType: 'Size',
  noGrad: true,
  infer: ([x]) => {
    const s = x!.shape;
    return [{ dtype: 'int64', shape: [], value: s.every((d) => typeof d === 'number') ? [(s as number[]).reduce((a, b) => a * b, 1)] : undefined }];
  },
});

export const size = (x: Tensor): Tensor => apply(sizeOp, [x], {})[0];

function reshapeDims(x: Tensor, spec: readonly Dim[]): Dim[] {
  const out: Dim[] = spec.map((d, i) => (d === 0 ? x.shape[i] ?? null : d === -1 ? -1 : d));
  const hole = out.indexOf(-1);
  if (hole >= 0) {
    // Cancel dims the input and output share; what remains of the input fills the -1.
    const rest = [...x.shape];
    let known = true;
    for (const [i, d] of out.entries()) {
      if (i === hole) continue;
      const at = rest.findIndex((r) => r === d && d !== null);
      if (at >= 0) rest.splice(at, 1);
      else known = false;
    }
    if (known && rest.length === 1) out[hole] = rest[0];
    else if (known && rest.every((d) => typeof d === 'number')) out[hole] = (rest as number[]).reduce((a, b) => a * b, 1);
    else if (rest.every((d) => typeof d === 'number') && out.every((d, i) => i === hole || typeof d === 'number')) {
      const total = x.shape.every((d) => typeof d === 'number') ? (x.shape as number[]).reduce((a, b) => a * b, 1) : null;
      const others = out.reduce<number>((a, d, i) => (i === hole ? a : a * (d as number)), 1);
      out[hole] = total === null ? null : total / others;
      if (total !== null && !Number.isInteger(total / others)) {
        throw new ShapeError(`Reshape: cannot reshape ${formatShape(x.shape)} to ${formatShape(spec)}`);
      }
    } else out[hole] = null;
  }
  const inStatic = x.shape.every((d) => typeof d === 'number');
  const outStatic = out.every((d) => typeof d === 'number');
  if (inStatic && outStatic) {
    const a = (x.shape as number[]).reduce((p, d) => p * d, 1);
    const b = (out as number[]).reduce((p, d) => p * d, 1);
    if (a !== b) throw new ShapeError(`Reshape: cannot reshape ${formatShape(x.shape)} (${a} elements) to ${formatShape(spec)} (${b})`);
  }
  return out;
}

const reshapeOp = defineOp({
  opType: 'Reshape',
  infer: ([x, s]) => [{ dtype: x!.dtype, shape: reshapeDims(x!, argValues('Reshape', s)!), value: x!.value }],
  vjp: ({ inputs: [x], grads: [g] }) => [reshape(g!, shapeOf(x!))],
});

/** Reshape; 0 copies the input dim, -1 is inferred (ONNX semantics). */
export const reshape = (x: Tensor, shape: IntsArg): Tensor => apply(reshapeOp, [x, intsTensor(x, shape)], {})[0];

const transposeOp = defineOp<{ perm: number[] }>({
  opType: 'Transpose',
  attrKinds: { perm: 'ints' },
  infer: ([x], { perm }) => {
    const sorted = [...perm].sort((a, b) => a - b);
    if (perm.length !== x!.rank || sorted.some((p, i) => p !== i)) {
      throw new ShapeError(`Transpose: perm [${perm}] is not a permutation of the axes of ${x}`);
    }
    return [{ dtype: x!.dtype, shape: perm.map((p) => x!.shape[p]) }];
  },
  vjp: ({ grads: [g], attrs: { perm } }) => {
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, i) => (inverse[p] = i));
    return [transpose(g!, inverse)];
  },
});

/** Transpose; default reverses the axes. */
export const transpose = (x: Tensor, perm?: number[]): Tensor =>
  apply(transposeOp, [x], { perm: perm ?? x.shape.map((_, i) => x.rank - 1 - i) })[0];

function staticAxes(op: string, t: Tensor | undefined): number[] {
  const v = t?.value;
  if (!v || !v.every((d) => typeof d === 'number')) throw new ShapeError(`${op}: axes must be static`);
  return v as number[];
}

const unsqueezeOp = defineOp({
  opType: 'Unsqueeze',
  infer: ([x, axesT]) => {
    const rank = x!.rank + argLength('Unsqueeze', axesT!);
    const axes = staticAxes('Unsqueeze', axesT).map((a) => normAxis('Unsqueeze', a, rank));
    const shape: Dim[] = [];
    let src = 0;
    for (let i = 0; i < rank; i++) shape.push(axes.includes(i) ? 1 : x!.shape[src++]);
    return [{ dtype: x!.dtype, shape, value: x!.value }];
  },
  vjp: ({ inputs: [x], grads: [g] }) => [reshape(g!, shapeOf(x!))],
});

export const unsqueeze = (x: Tensor, axes: number[]): Tensor => apply(unsqueezeOp, [x, int64s(x.graph, axes)], {})[0];

const squeezeOp = defineOp({
  opType: 'Squeeze',
  infer: ([x, axesT]) => {
    const axes = staticAxes('Squeeze', axesT).map((a) => normAxis('Squeeze', a, x!.rank));
    for (const a of axes) {
      if (!compatibleDim(x!.shape[a], 1)) throw new ShapeError(`Squeeze: axis ${a} of ${formatShape(x!.shape)} is not 1`);
    }
    return [{ dtype: x!.dtype, shape: x!.shape.filter((_, i) => !axes.includes(i)), value: x!.value }];
  },
  vjp: ({ inputs: [x], grads: [g] }) => [reshape(g!, shapeOf(x!))],
});

export const squeeze = (x: Tensor, axes: number[]): Tensor => apply(squeezeOp, [x, int64s(x.graph, axes)], {})[0];

const concatOp = defineOp<{ axis: number }>({
  opType: 'Concat',
  attrKinds: { axis: 'int' },
  infer: (xs, { axis }) => {
    const ts = xs as Tensor[];
    requireSameDType('Concat', ts);
    const rank = ts[0].rank;
    const a = normAxis('Concat', axis, rank);
    const shape = [...ts[0].shape];
    for (const t of ts) {
      const ok = t.rank === rank && t.shape.every((d, i) => i === a || compatibleDim(d, shape[i]));
      if (!ok) throw new ShapeError(`Concat: shapes ${ts.map((u) => formatShape(u.shape)).join(', ')} differ off axis ${axis}`);
      t.shape.forEach((d, i) => { if (i !== a && shape[i] === null) shape[i] = d; });
    }
    const along = ts.map((t) => t.shape[a]);
    shape[a] = along.every((d) => typeof d === 'number') ? (along as number[]).reduce((p, d) => p + d, 0) : null;
    const value = ts.every((t) => t.value) && rank === 1 ? ts.flatMap((t) => t.value!) : undefined;
    return [{ dtype: ts[0].dtype, shape, value }];
  },
  vjp: ({ inputs, grads: [g], attrs: { axis }, needs }) => {
    const ts = inputs as Tensor[];
    const a = normAxis('Concat', axis, ts[0].rank);
    const sizes = concat(ts.map((t) => dimOf(t, a)), 0);
    const parts = split(g!, sizes, a);
    return parts.map((p, i) => (needs[i] ? p : undefined));
  },
});

export const concat = (xs: Tensor[], axis: number): Tensor => apply(concatOp, xs, { axis })[0];

const splitOp = defineOp<{ axis: number }>({
  opType: 'Split',
  attrKinds: { axis: 'int' },
  infer: ([x, sizes], { axis }) => {
    const a = normAxis('Split', axis, x!.rank);
    const parts = argValues('Split', sizes)!;
    const total = x!.shape[a];
    if (typeof total === 'number' && parts.every((d) => typeof d === 'number')) {
      const sum = (parts as number[]).reduce((p, d) => p + d, 0);
      if (sum !== total) throw new ShapeError(`Split: sizes [${parts}] do not add up to dim ${total} of ${formatShape(x!.shape)}`);
    }
    return parts.map((d) => ({ dtype: x!.dtype, shape: x!.shape.map((s, i) => (i === a ? d : s)) }));
  },
  vjp: ({ outputs, grads, attrs: { axis } }) => [concat(outputs.map((y, i) => grads[i] ?? zerosLike(y)), axis)],
});

/** Split along an axis into pieces of the given sizes (a static-length 1-D int64 tensor also works). */
export const split = (x: Tensor, sizes: IntsArg, axis = 0): Tensor[] => apply(splitOp, [x, intsTensor(x, sizes)], { axis });

const BIG = 2 ** 62;

function sliceDim(dim: Dim, start: Dim, end: Dim, step: Dim): Dim {
  if (typeof start !== 'number' || typeof end !== 'number' || typeof step !== 'number') return null;
  if (typeof dim !== 'number') return start === 0 && end >= BIG / 4 && step === 1 ? dim : null;
  const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
  const norm = (v: number): number => (v < 0 ? v + dim : v);
  const s = step > 0 ? clamp(norm(start), 0, dim) : clamp(norm(start), -1, dim - 1);
  const e = step > 0 ? clamp(norm(end), 0, dim) : clamp(norm(end), -1, dim - 1);
  return Math.max(0, Math.ceil((e - s) / step));
}

const sliceOp = defineOp({
  opType: 'Slice',
  infer: ([x, startsT, endsT, axesT, stepsT]) => {
    const starts = argValues('Slice', startsT)!;
    const ends = argValues('Slice', endsT)!;
    const axes = axesT ? staticAxes('Slice', axesT) : starts.map((_, i) => i);
    const steps = argValues('Slice', stepsT) ?? starts.map(() => 1);
    if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
      throw new ShapeError('Slice: starts, ends, axes and steps must have the same length');
    }
    const shape = [...x!.shape];
    axes.forEach((ax, i) => {
      const a = normAxis('Slice', ax, x!.rank);
      shape[a] = sliceDim(x!.shape[a], starts[i], ends[i], steps[i]);
    });
    let value: Dim[] | undefined;
    const v = x!.value;
    if (v && x!.rank === 1 && typeof starts[0] === 'number' && typeof ends[0] === 'number' && steps[0] === 1) {
      const s = starts[0] < 0 ? Math.max(starts[0] + v.length, 0) : Math.min(starts[0], v.length);
      const e = ends[0] < 0 ? Math.max(ends[0] + v.length, 0) : Math.min(ends[0], v.length);
      value = v.slice(s, e);
    }
    return [{ dtype: x!.dtype, shape, value }];
  },
  vjp: ({ inputs: [x, startsT, endsT, axesT, stepsT], grads: [g] }) => [sliceGrad(x!, g!, startsT!, endsT!, axesT, stepsT)],
});

/** Pads the gradient back to x's shape: before = normalized start, after = dim - normalized end. */
function sliceGrad(x: Tensor, g: Tensor, startsT: Tensor, endsT: Tensor, axesT: Tensor | undefined, stepsT: Tensor | undefined): Tensor {
  const steps = stepsT?.value;
  if (stepsT && !(steps && steps.every((s) => s === 1))) throw new Error('Slice gradient: only step 1 is supported');
  const n = argLength('Slice', startsT);
  const axes = (axesT ? staticAxes('Slice', axesT) : [...Array(n).keys()]).map((a) => normAxis('Slice', a, x.rank));
  const graph = x.graph;
  const zero = int64s(graph, [0]);
  const before: Tensor[] = x.shape.map(() => zero);
  const after: Tensor[] = x.shape.map(() => zero);
  axes.forEach((a, i) => {
    const dim = dimOf(x, a);
    const clampIndex = (t: Tensor): Tensor => {
      const v = slice(t, [i], [i + 1]);
      return max(min(where(less(v, 0), add(v, dim), v), dim), 0);
    };
    const s = clampIndex(startsT);
    const e = clampIndex(endsT);
    before[a] = s;
    after[a] = sub(dim, e);
  });
  return pad(g, concat([...before, ...after], 0));
}

export function slice(x: Tensor, starts: IntsArg, ends: IntsArg, axes?: number[], steps?: number[]): Tensor {
  const ends_ = Array.isArray(ends) ? (ends as number[]).map((e) => Math.min(e, BIG)) : ends;
  const inputs = [x, intsTensor(x, starts), intsTensor(x, ends_)];
  if (axes || steps) inputs.push(int64s(x.graph, axes ?? [...Array(argLength('Slice', inputs[1])).keys()]));
  if (steps) inputs.push(int64s(x.graph, steps));
  return apply(sliceOp, inputs, {})[0];
}

const padOp = defineOp({
  opType: 'Pad',
  infer: ([x, pads]) => {
    const p = argValues('Pad', pads)!;
    const r = x!.rank;
    const shape = x!.shape.map((d, i) => {
      const b = p[i];
      const e = p[i + r];
      return typeof d === 'number' && typeof b === 'number' && typeof e === 'number' ? d + b + e : null;
    });
    return [{ dtype: x!.dtype, shape }];
  },
});

/** Zero padding: pads = [begin_0, ..., begin_{r-1}, end_0, ..., end_{r-1}]. No gradient rule. */
export const pad = (x: Tensor, pads: IntsArg): Tensor => apply(padOp, [x, intsTensor(x, pads)], {})[0];

const expandOp = defineOp({
  opType: 'Expand',
  infer: ([x, s]) => [{ dtype: x!.dtype, shape: broadcastShapes('Expand', [x!.shape, argValues('Expand', s)!]) }],
  vjp: ({ inputs: [x], grads: [g] }) => [unbroadcast(g!, x!)],
});

export const expand = (x: Tensor, shape: IntsArg): Tensor => apply(expandOp, [x, intsTensor(x, shape)], {})[0];

const constantOfShapeOp = defineOp<{ value: ConstTensor }>({
  opType: 'ConstantOfShape',
  attrKinds: { value: 'tensor' },
  noGrad: true,
  infer: ([s], { value }) => [{ dtype: value.dtype, shape: argValues('ConstantOfShape', s)! }],
});

export function constantOfShape(shape: Tensor, value: number, dtype: DType): Tensor {
  return apply(constantOfShapeOp, [shape], { value: { dtype, shape: [1], data: typedArrayFrom(dtype, [value]) } })[0];
}

const rangeOp = defineOp({
  opType: 'Range',
  noGrad: true,
  infer: (xs) => {
    const [s, l, d] = xs as Tensor[];
    requireSameDType('Range', [s, l, d]);
    for (const t of [s, l, d]) if (t.rank !== 0) throw new ShapeError(`Range: expects scalars, got ${t}`);
    const [a, b, c] = [s.value?.[0], l.value?.[0], d.value?.[0]];
    if (typeof a === 'number' && typeof b === 'number' && typeof c === 'number') {
      const n = Math.max(Math.ceil((b - a) / c), 0);
      return [{ dtype: s.dtype, shape: [n], value: s.dtype === 'int64' ? Array.from({ length: n }, (_, i) => a + i * c) : undefined }];
    }
    return [{ dtype: s.dtype, shape: [null] }];
  },
});

/** Range(start, limit, delta) of scalars; numbers become int64 scalars unless a tensor fixes the dtype. */
export function range(start: Tensor | number, limit: Tensor | number, delta: Tensor | number = 1): Tensor {
  const ref = [start, limit, delta].find((v): v is Tensor => typeof v !== 'number');
  if (!ref) throw new Error('range: at least one of start, limit, delta must be a tensor (use a constant)');
  const lifted = [start, limit, delta].map((v) => (typeof v === 'number' ? ref.graph.constant(ref.dtype, [], [v]) : v));
  return apply(rangeOp, lifted, {})[0];
}

const triluOp: OpDef<{ upper: number }> = defineOp<{ upper: number }>({
  opType: 'Trilu',
  attrKinds: { upper: 'int' },
  infer: ([x]) => [{ dtype: x!.dtype, shape: x!.shape }],
  vjp: ({ inputs: [, k], grads: [g], attrs }) => [apply(triluOp, [g!, k], attrs)[0], undefined],
});

/** Keeps the upper (or lower) triangle of the last two axes, offset by diagonal k. */
export function trilu(x: Tensor, upper = true, k = 0): Tensor {
  return apply(triluOp, [x, k === 0 ? undefined : x.graph.constant('int64', [], [k])], { upper: upper ? 1 : 0 })[0];
}
