// Shape-tensor helpers and the broadcast reduction that gradient rules share.
import { type Tensor, int64s } from '../graph';
import { type Dim, isStatic } from '../shape';
import { reduceSum } from './reduce';
import { reshape, shapeNode, concat, slice, constantOfShape } from './shape-ops';
import { equal, not, nonZero } from './compare';

/** The shape of `x` as a 1-D int64 tensor: a constant when static, else one memoized Shape node. */
export function shapeOf(x: Tensor): Tensor {
  if (isStatic(x.shape)) return int64s(x.graph, x.shape as number[]);
  let s = x.graph.shapeMemo.get(x);
  if (!s) {
    s = shapeNode(x);
    x.graph.shapeMemo.set(x, s);
  }
  return s;
}

/** Dimension `axis` of `x` as a 1-element int64 tensor. */
export function dimOf(x: Tensor, axis: number): Tensor {
  const d = x.shape[axis];
  if (typeof d === 'number') return int64s(x.graph, [d]);
  return slice(shapeOf(x), [axis], [axis + 1]);
}

/** A zero tensor with the shape and dtype of `x`. */
export function zerosLike(x: Tensor): Tensor {
  return constantOfShape(shapeOf(x), 0, x.dtype);
}

type Decision = 'keep' | 'reduce' | 'unknown';

function decide(target: Dim, grad: Dim): Decision {
  if (target === grad && target !== null) return 'keep';
  if (target === 1) return 'reduce';
  if (grad === 1) return 'keep';
  if (typeof target === 'number') return 'keep'; // a size other than 1 must match the gradient's
  if (typeof target === 'string' && typeof grad === 'number') return 'keep';
  return 'unknown';
}

/**
 * Sums a gradient over the axes along which `x` was broadcast, giving it `x`'s shape.
 * Uses static shapes where they decide the axes; otherwise finds them at run time
 * (axes where the padded input shape differs from the gradient's shape).
 */
export function unbroadcast(g: Tensor, x: Tensor): Tensor {
  const lead = g.rank - x.rank;
  if (lead < 0) throw new Error(`unbroadcast: gradient ${g} has lower rank than ${x}`);
  const decisions = x.shape.map((d, i) => decide(d, g.shape[lead + i]));
  if (decisions.includes('unknown')) return unbroadcastAtRunTime(g, x, lead);
  let out = g;
  if (lead > 0) out = reduceSum(out, Array.from({ length: lead }, (_, i) => i), false);
  const axes = decisions.flatMap((d, i) => (d === 'reduce' ? [i] : []));
  if (axes.length > 0) out = reduceSum(out, axes, true);
  return out;
}

function unbroadcastAtRunTime(g: Tensor, x: Tensor, lead: number): Tensor {
  const graph = g.graph;
  const padded = lead > 0 ? concat([int64s(graph, new Array(lead).fill(1)), shapeOf(x)], 0) : shapeOf(x);
  const differs = not(equal(padded, shapeOf(g)));
  const axes = reshape(nonZero(differs), [-1]);
  const summed = reduceSum(g, axes, true);
  return reshape(summed, shapeOf(x));
}

