// Rewrites of a built graph that the export passes share (quantize.ts, tied-table.ts): who reads a
// tensor, a tied table's row lookup, replacing a tensor by new nodes inserted in order.
import { type Graph, type Tensor } from '../onnx';

export type GraphNode = Graph['nodes'][number];

export function isPlain(node: GraphNode, opType: string): boolean {
  return node.op.opType === opType && !node.op.domain;
}

/** The graph's readers of every tensor, and of graph outputs. */
export function consumerMap(graph: Graph): Map<Tensor, GraphNode[]> {
  const consumers = new Map<Tensor, GraphNode[]>();
  for (const node of graph.nodes) addReads(consumers, node);
  return consumers;
}

function addReads(consumers: Map<Tensor, GraphNode[]>, node: GraphNode): void {
  for (const t of node.inputs) {
    if (!t) continue;
    let list = consumers.get(t);
    if (!list) consumers.set(t, (list = []));
    if (!list.includes(node)) list.push(node);
  }
}

/**
 * A lookup of table rows that GatherBlockQuantized can take over: the tensor holding the looked-up
 * rows [...indices, K], and the indices. Row-major [N, K] tables: Gather along axis 0. The decoder's
 * tied embedding is stored once as the head's [K, N] and looked up as Transpose(Gather(W, ids, axis 1)),
 * the rows moved last (decoder.ts embedTokens).
 */
export function rowLookup(gather: GraphNode, stored: 'kn' | 'nk', consumers: Map<Tensor, GraphNode[]>, graph: Graph): { rows: Tensor; indices: Tensor } | undefined {
  const indices = gather.inputs[1]!;
  const axis = gather.attrs.axis ?? 0;
  if (stored === 'nk') return axis === 0 ? { rows: gather.outputs[0], indices } : undefined;
  if (axis !== 1 && axis !== -1) return undefined;
  const readers = consumers.get(gather.outputs[0]) ?? [];
  const t = readers[0];
  const q = indices.rank;
  const perm = [...Array.from({ length: q }, (_, i) => i + 1), 0];
  if (readers.length !== 1 || graph.outputs.includes(gather.outputs[0]) || !isPlain(t, 'Transpose')) return undefined;
  if (JSON.stringify(t.attrs.perm) !== JSON.stringify(perm)) return undefined;
  return { rows: t.outputs[0], indices };
}

/** Points every reader of `from` at `to`; a graph output keeps its name. */
function rewire(graph: Graph, consumers: Map<Tensor, GraphNode[]>, from: Tensor, to: Tensor): void {
  for (const node of consumers.get(from) ?? []) node.replaceOp(node.op, node.inputs.map((t) => (t === from ? to : t)), node.attrs);
  const output = graph.outputs.indexOf(from);
  if (output < 0) return;
  graph.outputs[output] = to;
  [to.name, from.name] = [from.name, to.name];
}

/**
 * Replaces `from` by what `build` makes: the new nodes (appended by the builder) move to just before
 * the first reader of `from`, so that the node list stays in topological order, and every reader of
 * `from` (a graph output too) then reads the result. `consumers` learns the new nodes' reads, so a
 * later replacement of a tensor they read rewires them too.
 */
export function replaceTensor(graph: Graph, consumers: Map<Tensor, GraphNode[]>, from: Tensor, build: () => Tensor): Tensor {
  const first = Math.min(...(consumers.get(from) ?? []).map((c) => graph.nodes.indexOf(c)));
  const before = graph.nodes.length;
  const out = build();
  const added = graph.nodes.splice(before);
  graph.nodes.splice(Number.isFinite(first) ? first : graph.nodes.length, 0, ...added);
  rewire(graph, consumers, from, out);
  for (const node of added) addReads(consumers, node);
  return out;
}
