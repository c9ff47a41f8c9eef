// Reverse-mode autodiff over the graph: appends backward nodes built from each op's vector-Jacobian rule.
import { type Tensor, type Node, scalar } from './graph';
import { isFloat } from './dtype';
import { formatShape, isStatic } from './shape';
import { add } from './ops/arithmetic';

export interface GradOptions {
  /** Gradient of the final objective w.r.t. `loss`; defaults to ones (loss must then have one element). */
  seed?: Tensor;
}

export interface Gradients {
  /** One entry per `wrt` tensor; undefined where no gradient reaches it. */
  grads: (Tensor | undefined)[];
  /** The `wrt` tensors no gradient reaches (the loss does not depend on them differentiably). */
  unreached: Tensor[];
}

export class UnreachedError extends Error {
  constructor(readonly unreached: Tensor[]) {
    super(`no gradient reaches ${unreached.map((t) => t.name).join(', ')}: the loss does not depend on them through differentiable ops`);
  }
}

/** Gradients of `loss` w.r.t. each of `wrt`; throws UnreachedError if any gets none (never silently zero). */
export function grad(loss: Tensor, wrt: Tensor[], options: GradOptions = {}): Tensor[] {
  const { grads, unreached } = gradients(loss, wrt, options);
  if (unreached.length > 0) throw new UnreachedError(unreached);
  return grads as Tensor[];
}

/** Like grad, but reports tensors without a gradient instead of throwing. */
export function gradients(loss: Tensor, wrt: Tensor[], options: GradOptions = {}): Gradients {
  const graph = loss.graph;
  for (const t of wrt) graph.own(t, 'grad');
  if (!isFloat(loss.dtype)) throw new Error(`grad: loss ${loss} is not floating point`);
  const seed = options.seed ?? defaultSeed(loss);
  if (seed.dtype !== loss.dtype) throw new Error(`grad: seed ${seed} must have the loss dtype ${loss.dtype}`);

  const active = activeTensors(wrt, graph.nodes);
  const pending = new Map<Tensor, Tensor[]>([[loss, [seed]]]);
  const total = (t: Tensor): Tensor | undefined => {
    const list = pending.get(t);
    if (!list || list.length === 0) return undefined;
    // Gradients arriving along several paths add up.
    const sum = list.reduce((acc, g) => add(acc, g));
    pending.set(t, [sum]);
    return sum;
  };

  const last = loss.producer?.index ?? -1;
  const forward = graph.nodes.slice(0, last + 1);
  for (let n = forward.length - 1; n >= 0; n--) {
    const node = forward[n];
    if (!node.outputs.some((o) => active.has(o))) continue;
    const outGrads = node.outputs.map(total);
    if (outGrads.every((g) => g === undefined)) continue;
    const needs = node.inputs.map((t) => t !== undefined && active.has(t) && isFloat(t.dtype));
    if (!needs.some(Boolean)) continue;
    backward(node, outGrads, needs, pending);
  }
  const grads = wrt.map(total);
  return { grads, unreached: wrt.filter((_, i) => grads[i] === undefined) };
}

function backward(node: Node, outGrads: (Tensor | undefined)[], needs: boolean[], pending: Map<Tensor, Tensor[]>): void {
  const op = node.op;
  if (!op.vjp) {
    throw new Error(`grad: ${op.opType} has no gradient rule, but ${node.outputs[0].name} lies between the loss and a requested tensor`);
  }
  const inGrads = op.vjp({ inputs: node.inputs, outputs: node.outputs, attrs: node.attrs, grads: outGrads, needs });
  node.inputs.forEach((input, i) => {
    const g = inGrads[i];
    if (!needs[i] || !input || !g) return;
    if (g.rank !== input.rank || g.dtype !== input.dtype) {
      throw new Error(`grad: ${op.opType} rule gave ${g.dtype}${formatShape(g.shape)} for input ${input}`);
    }
    const list = pending.get(input) ?? [];
    list.push(g);
    pending.set(input, list);
  });
}

/** Tensors that depend differentiably on any of `wrt`. */
function activeTensors(wrt: Tensor[], nodes: readonly Node[]): Set<Tensor> {
  const active = new Set<Tensor>(wrt.filter((t) => isFloat(t.dtype)));
  for (const node of nodes) {
    if (node.op.noGrad || !node.inputs.some((t) => t !== undefined && active.has(t))) continue;
    for (const o of node.outputs) if (isFloat(o.dtype)) active.add(o);
  }
  return active;
}

function defaultSeed(loss: Tensor): Tensor {
  if (isStatic(loss.shape) && loss.shape.every((d) => d === 1)) {
    return loss.rank === 0 ? scalar(loss.graph, 1, loss.dtype) : loss.graph.constant(loss.dtype, loss.shape as number[], [1]);
  }
  throw new Error(`grad: loss ${loss} may have more than one element; reduce it or pass a seed`);
}
