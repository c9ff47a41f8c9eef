// float16 inference graphs (both variants) on ONNX Runtime's CPU provider: they load and run there
// (ORT inserts float32 fallbacks for kernels it lacks in float16), keep a float16 KV cache, return
// float32 logits, and stay within float16 rounding of the float32 graph over a padded batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildContribInferenceGraph } from '../../../src/models/decode-graph';
import { buildInferenceGraph, presentName, type GraphWeightOptions, type WeightMap } from '../../../src/models/graphs';
import type { DecoderConfig } from '../../../src/models/config';
import type { Graph } from '../../../src/onnx';
import { maxAbsDiff, sessionOf, tinyModel } from './fixtures';
import { PADDED_PLAN, runSteps } from './kv-steps';

const builders: [string, (c: DecoderConfig, w: WeightMap, o?: GraphWeightOptions) => Graph][] = [
  ['plain', buildInferenceGraph],
  ['contrib', buildContribInferenceGraph],
];

for (const name of ['llama_gqa', 'qwen2_bias_tied', 'mistral_gqa']) {
  for (const [variant, build] of builders) {
    test(`float16 ${variant} graph runs on CPU within float16 rounding of float32: ${name}`, async () => {
      const m = tinyModel(name);
      const full = await sessionOf(buildInferenceGraph(m.config, m.weights));
      const half = await sessionOf(build(m.config, tinyModel(name).weights, { dtype: 'float16' }));
      try {
        const expected = await runSteps(full, m.config, { ...PADDED_PLAN, keep: 1 });
        const actual = await runSteps(half, m.config, { ...PADDED_PLAN, keep: 1, cacheDType: 'float16' });
        let drift = 0;
        actual.forEach((a, s) => {
          assert.equal(a.out.logits.type, 'float32');
          assert.equal(a.out[presentName(0, 'key')].type, 'float16');
          assert.deepEqual(a.out[presentName(0, 'key')].dims, expected[s].out[presentName(0, 'key')].dims);
          const logits = a.out.logits.data as Float32Array;
          assert.ok(logits.every(Number.isFinite), `step ${s}: finite logits`);
          drift = Math.max(drift, maxAbsDiff(logits, expected[s].out.logits.data as Float32Array));
        });
        // float16 keeps 11 significant bits (~5e-4 relative); through two layers on O(1) logits the
        // drift was 5e-3 to 1.3e-2. A wrong op or a mask that overflows to NaN is far outside 0.05.
        assert.ok(drift < 0.05 && drift > 0, `max abs logit drift ${drift}`);
      } finally {
        await full.release();
        await half.release();
      }
    });
  }
}
