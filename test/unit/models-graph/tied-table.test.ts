// rowMajorTiedTables: a float export's tied embedding stored once as [vocab, hidden], the head computed
// as (table @ x^T)^T and the lookup gathering rows, gives the logits and KV cache of the graph as built
// (prefill then token-by-token decoding, left-padded batch), in the plain and the contrib graph.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildContribInferenceGraph } from '../../../src/models/decode-graph';
import { buildInferenceGraph } from '../../../src/models/graphs';
import { rowMajorTiedTables } from '../../../src/models/tied-table';
import type { Graph } from '../../../src/onnx';
import { maxAbsDiff, sessionOf, tinyModel } from './fixtures';
import { PADDED_PLAN, runSteps } from './kv-steps';

// A vocabulary no projection's width equals, so the table's shape names it alone.
const WIDE = { vocab_size: 61 };
const builders = { plain: buildInferenceGraph, contrib: buildContribInferenceGraph };

/** The initializers each op type reads, by name. */
function tablesRead(graph: Graph, opType: string): string[] {
  const live = new Set(graph.initializers);
  return graph.nodes.filter((n) => n.op.opType === opType).flatMap((n) => n.inputs.filter((t) => t && live.has(t)).map((t) => t!.name));
}

for (const [variant, build] of Object.entries(builders)) {
  test(`the tied table stored [vocab, hidden] once gives the same logits and cache: ${variant} graph`, async () => {
    const m = tinyModel('qwen2_bias_tied', 11, WIDE);
    const [vocab, hidden] = [m.config.vocabSize, m.config.hiddenSize];
    const before = build(m.config, tinyModel('qwen2_bias_tied', 11, WIDE).weights);
    const after = build(m.config, m.weights);
    const [name] = rowMajorTiedTables(after, 0);
    assert.ok(name, 'the tied table is rewritten');
    const table = after.initializers.find((t) => t.name === `${name}.rows`)!;
    assert.deepEqual(table.shape, [vocab, hidden]);
    assert.ok(!after.initializers.some((t) => t.name === name), 'the [hidden, vocab] table is gone');
    const tableShaped = (t: { shape: readonly (number | string | null)[] }) => [`${vocab},${hidden}`, `${hidden},${vocab}`].includes(t.shape.join());
    assert.equal(after.initializers.filter(tableShaped).length, 1, 'one copy of the table');
    assert.deepEqual(tablesRead(after, 'Gather').filter((t) => t === table.name), [table.name], 'the lookup gathers its rows');
    assert.ok(tablesRead(after, 'MatMul').includes(table.name), 'the head multiplies it');
    // The graph as built, for contrast: one [hidden, vocab] table read by the head's MatMul as B.
    assert.ok(tablesRead(before, 'MatMul').includes(name));
    assert.deepEqual(rowMajorTiedTables(build(m.config, tinyModel('qwen2_bias_tied', 11, WIDE).weights)), [], 'tables under the size floor are left alone');

    const [expected, actual] = await Promise.all([before, after].map(async (g) => {
      const session = await sessionOf(g);
      try {
        return await runSteps(session, m.config, PADDED_PLAN);
      } finally {
        await session.release();
      }
    }));
    expected.forEach((e, s) => {
      for (const [key, t] of Object.entries(e.out)) {
        assert.deepEqual(actual[s].out[key].dims, t.dims, `step ${s} ${key}`);
        const diff = maxAbsDiff(actual[s].out[key].data as Float32Array, t.data as Float32Array);
        assert.ok(diff < 1e-5, `step ${s} ${key}: max abs diff ${diff}`);
      }
    });
  });
}
