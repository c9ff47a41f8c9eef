// The scoring graph: per-token log-probs of given tokens, batched with left padding, against the
// reference; and KV-cache decoding through the inference graph against full-sequence scoring.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildInferenceGraph, buildLogProbGraph, presentName } from '../../../src/models/graphs';
import { scoreRows, type ScoreRow } from '../../../src/models/score';
import { refLogits, refTokenLogProbs } from '../../reference/decoder-ref';
import { maxAbsDiff, sessionOf, tinyModel, variantNames } from './fixtures';
import { runSteps } from './kv-steps';

const rows: ScoreRow[] = [
  { ids: [1, 5, 9, 47, 3, 3, 20, 11, 0, 30], from: 4 },
  { ids: [1, 2, 7], from: 1 },
  { ids: [4, 4, 4, 4, 12, 13, 14], from: 2 },
];

for (const name of variantNames) {
  test(`left-padded batch scores equal each row scored alone by the reference: ${name}`, async () => {
    const m = tinyModel(name);
    const session = await sessionOf(buildLogProbGraph(m.config, m.weights).graph);
    try {
      const batched = await scoreRows(session, rows);
      rows.forEach((row, b) => {
        const expected = refTokenLogProbs(m.raw, m.ref, row.ids, row.from);
        assert.equal(batched[b].length, row.ids.length - row.from);
        const diff = maxAbsDiff(batched[b], expected);
        assert.ok(diff < 1e-4, `row ${b}: max abs diff ${diff}`);
      });
      // And against the same rows scored one at a time by our own graph (no padding at all).
      for (const [b, row] of rows.entries()) {
        const [alone] = await scoreRows(session, [row]);
        assert.ok(maxAbsDiff(alone, batched[b]) < 1e-5);
      }
    } finally {
      await session.release();
    }
  });
}

for (const name of variantNames) {
  test(`KV-cache decoding of a left-padded batch equals full-sequence logits: ${name}`, async () => {
    const m = tinyModel(name);
    const session = await sessionOf(buildInferenceGraph(m.config, m.weights));
    try {
      // Two rows, the second left-padded by 3; prefill 4 columns, then decode 6 steps one token at a time.
      const plan = { seqs: [[3, 9, 27, 40, 12, 6, 18, 33, 21, 8], [0, 0, 0, 7, 14, 28, 41, 2, 5, 19]], pad: [0, 3], prefill: 4 };
      const V = m.config.vocabSize;
      for (const { start, end, out } of await runSteps(session, m.config, plan)) {
        const step = end - start;
        const logits = out.logits.data as Float32Array;
        for (let b = 0; b < 2; b++) {
          const real = plan.seqs[b].slice(plan.pad[b], end);
          const full = refLogits(m.raw, m.ref, real);
          for (let t = Math.max(start, plan.pad[b]); t < end; t++) {
            const ours = logits.subarray((b * step + t - start) * V, (b * step + t - start + 1) * V);
            const j = t - plan.pad[b];
            const diff = maxAbsDiff(ours, full.subarray(j * V, (j + 1) * V));
            assert.ok(diff < 1e-4, `row ${b} position ${t}: max abs diff ${diff}`);
          }
        }
        for (let l = 0; l < m.config.numLayers; l++) {
          assert.deepEqual(out[presentName(l, 'key')].dims, [2, m.config.numKvHeads, end, m.config.headDim]);
        }
      }
    } finally {
      await session.release();
    }
  });
}
