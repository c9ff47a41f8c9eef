// Our ONNX decoder's logits against the float64 reference of the Hugging Face math, for every
// variant: max abs diff < 1e-4 in fp32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildInferenceGraph, NUM_LOGITS_TO_KEEP, pastName } from '../../../src/models/graphs';
import { refLogits } from '../../reference/decoder-ref';
import { i64, maxAbsDiff, sessionOf, tinyModel, variantNames } from './fixtures';

const ids = [1, 5, 9, 47, 3, 3, 20, 11, 0, 30, 2, 17, 44, 8];

for (const name of variantNames) {
  test(`inference graph logits match the reference: ${name}`, async () => {
    const m = tinyModel(name);
    const session = await sessionOf(buildInferenceGraph(m.config, m.weights));
    try {
      const T = ids.length;
      const feeds: Record<string, any> = {
        input_ids: i64(ids, [1, T]),
        attention_mask: i64(ids.map(() => 1), [1, T]),
        position_ids: i64(ids.map((_, i) => i), [1, T]),
        [NUM_LOGITS_TO_KEEP]: i64([0], []),
      };
      for (let l = 0; l < m.config.numLayers; l++) {
        for (const kind of ['key', 'value'] as const) {
          feeds[pastName(l, kind)] = { dtype: 'float32', data: new Float32Array(0), dims: [1, m.config.numKvHeads, 0, m.config.headDim] };
        }
      }
      const out = await session.run(feeds);
      const logits = out.logits.data as Float32Array;
      assert.deepEqual(out.logits.dims, [1, T, m.config.vocabSize]);
      const diff = maxAbsDiff(logits, refLogits(m.raw, m.ref, ids));
      assert.ok(diff < 1e-4, `max abs diff ${diff}`);
    } finally {
      await session.release();
    }
  });
}

test('ropeInvFreq (src) equals the reference inverse frequencies for default, linear and llama3 scaling', async () => {
  const { ropeInvFreq } = await import('../../../src/models/rope');
  const { refInvFreq } = await import('../../reference/decoder-ref');
  for (const name of variantNames) {
    const m = tinyModel(name);
    assert.ok(maxAbsDiff(ropeInvFreq(m.config), refInvFreq(m.raw, m.config.headDim)) < 1e-15, name);
  }
});
