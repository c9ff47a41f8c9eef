// Sampling settings: what the user set wins over what the model's generation_config.json asks for,
// which wins over the product's defaults; a model's values that generation cannot honour are ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SETTINGS, RefinerInputError, resolveSettings, samplingDefaults } from '../../../src/refiner/refiner-settings';

test('do_sample: false decodes greedily; a sampling model brings its temperature, top-p, top-k and repetition penalty', () => {
  assert.deepEqual(samplingDefaults({ do_sample: false, temperature: 0.9, repetition_penalty: 1.1 }), { temperature: 0, repetitionPenalty: 1.1 });
  // Qwen2.5-0.5B-Instruct's generation_config.json.
  assert.deepEqual(
    samplingDefaults({ do_sample: true, temperature: 0.7, top_p: 0.8, top_k: 20, repetition_penalty: 1.1, eos_token_id: [151645, 151643] }),
    { temperature: 0.7, topP: 0.8, topK: 20, repetitionPenalty: 1.1 },
  );
  assert.deepEqual(samplingDefaults({ eos_token_id: 2 }), {});
  assert.deepEqual(samplingDefaults(null), {});
});

test('values a model asks for that generation cannot honour are left out', () => {
  assert.deepEqual(samplingDefaults({ do_sample: true, temperature: -1, top_p: 0, top_k: 2.5, repetition_penalty: 0 }), {});
  assert.deepEqual(samplingDefaults({ temperature: '0.7', top_p: null }), {});
});

test('the user wins over the model, the model over the product default', () => {
  const model = { temperature: 0, topK: 20 };
  assert.deepEqual(resolveSettings({}, model), { ...DEFAULT_SETTINGS, temperature: 0, topK: 20 });
  assert.deepEqual(resolveSettings({ temperature: 0.5, topK: undefined }, model), { ...DEFAULT_SETTINGS, temperature: 0.5, topK: 20 });
  assert.deepEqual(resolveSettings({}), DEFAULT_SETTINGS);
  assert.throws(() => resolveSettings({ temperature: -1 }, model), RefinerInputError);
});
