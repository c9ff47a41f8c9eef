// A float export's tied embedding, laid out so that ONNX Runtime holds it once, memory-mapped. The
// graph builders store the table as the head's [hidden, vocab] (MatMul's B) and look tokens up as
// Transpose(Gather(W, ids, axis 1)). ORT prepacks a constant B into a buffer of its own, and keeps the
// file's copy for the lookup, whose reads along axis 1 touch a page in each of W's hidden rows per
// token: both copies end up resident (2 x 544 MB on Qwen2.5-0.5B in float32). Here the table is stored
// [vocab, hidden], the head computes logits^T = table @ x^T (the table is MatMul's A, which ORT reads
// in place rather than prepacking) and the lookup gathers rows: one copy, file-backed, and measured as
// fast as the prepacked head (BENCHMARKS.md, llama.cpp peer). Quantized exports do not need this:
// MatMulNBits' layout is already [vocab, blocks] (quantize.ts).
import { type Graph, gather, matmul, swapLast } from '../onnx';
import { transposeCopy } from './graphs';
import { consumerMap, isPlain, replaceTensor, rowLookup } from './graph-rewrite';

/** Tables smaller than this stay as they are: the built-in model's (a few MB) gains nothing. */
export const ROW_MAJOR_TABLE_MIN_BYTES = 64 * 2 ** 20;

/**
 * Rewrites each float table that a MatMul multiplies as B [K, N] and a Gather looks up along axis 1
 * (the decoder's tied embedding) as described above; returns the names of the tables rewritten.
 * Mutates `graph`; for inference graphs (export), not training ones.
 */
export function rowMajorTiedTables(graph: Graph, minBytes = ROW_MAJOR_TABLE_MIN_BYTES): string[] {
  const consumers = consumerMap(graph);
  const rewritten: string[] = [];
  for (const w of [...graph.initializers]) {
    if (w.rank !== 2 || (w.dtype !== 'float32' && w.dtype !== 'float16') || w.const!.data.byteLength < minBytes) continue;
    const readers = consumers.get(w) ?? [];
    const heads = readers.filter((n) => isPlain(n, 'MatMul') && n.inputs[1] === w && n.inputs[0] !== w && n.inputs[0]!.rank >= 2);
    const gathers = readers.filter((n) => isPlain(n, 'Gather') && n.inputs[0] === w && n.inputs[1] !== w);
    if (heads.length === 0 || gathers.length === 0 || heads.length + gathers.length !== readers.length) continue;
    const lookups = gathers.map((g) => rowLookup(g, 'kn', consumers, graph));
    if (lookups.some((l) => !l)) continue;
    const [k, n] = w.shape as number[];
    const table = graph.initializer(`${w.name}.rows`, w.dtype, [n, k], transposeCopy(w.const!.data as Float32Array | Uint16Array, k, n), { external: w.external });
    for (const head of heads) {
      const x = head.inputs[0]!;
      // x [..., S, K] -> (table [N, K] @ x^T [..., K, S]) = logits^T [..., N, S] -> [..., S, N]
      replaceTensor(graph, consumers, head.outputs[0], () => swapLast(matmul(table, swapLast(x))));
    }
    for (const lookup of lookups) replaceTensor(graph, consumers, lookup!.rows, () => gather(table, lookup!.indices, 0));
    // serialize() leaves out the nodes that read the old table, now that nothing depends on them.
    graph.initializers.splice(graph.initializers.indexOf(w), 1);
    rewritten.push(w.name);
  }
  return rewritten;
}
