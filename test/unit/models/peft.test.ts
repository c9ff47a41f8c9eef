import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDecoderConfig } from '../../../src/models/config';
import { initLoraAdapter, type LoraAdapter } from '../../../src/models/lora';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, loadPeftAdapter, parsePeftAdapterConfig, savePeftAdapter } from '../../../src/models/peft';
import { SafetensorsFile } from '../../../src/models/safetensors';

const model = parseDecoderConfig({
  model_type: 'qwen2', hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, vocab_size: 32,
});

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'slhf-peft-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function trainedAdapter(): LoraAdapter {
  const adapter = initLoraAdapter(model, { rank: 4, alpha: 8, dropout: 0.05, targets: ['q', 'v', 'down'] }, 7);
  // B starts at zero; give it values so the round trip proves B is stored too.
  adapter.pairs.forEach((p, k) => p.b.forEach((_, i) => (p.b[i] = (i % 7) * 0.01 - k)));
  return adapter;
}

/** The JSON Python PEFT 0.13 writes for LoraConfig(r=4, lora_alpha=8, target_modules=[...]). */
const pythonWritten = {
  alpha_pattern: {}, auto_mapping: null, base_model_name_or_path: 'Qwen/Qwen2.5-0.5B-Instruct', bias: 'none',
  fan_in_fan_out: false, inference_mode: true, init_lora_weights: true, layer_replication: null, layers_pattern: null,
  layers_to_transform: null, loftq_config: {}, lora_alpha: 8, lora_dropout: 0.05, megatron_config: null,
  megatron_core: 'megatron.core', modules_to_save: null, peft_type: 'LORA', r: 4, rank_pattern: {}, revision: null,
  target_modules: ['v_proj', 'q_proj', 'down_proj'], task_type: 'CAUSAL_LM', use_dora: false, use_rslora: false,
};

test('saved adapters use PEFT file names, tensor names and shapes, and load back exactly', async (t) => {
  const dir = tempDir(t);
  const adapter = trainedAdapter();
  await savePeftAdapter(dir, adapter, { baseModel: 'Qwen/Qwen2.5-0.5B-Instruct' });
  const config = JSON.parse(readFileSync(join(dir, ADAPTER_CONFIG), 'utf8'));
  assert.equal(config.peft_type, 'LORA');
  assert.equal(config.task_type, 'CAUSAL_LM');
  assert.equal(config.r, 4);
  assert.equal(config.lora_alpha, 8);
  assert.equal(config.lora_dropout, 0.05);
  assert.deepEqual(config.target_modules, ['q_proj', 'v_proj', 'down_proj']);
  assert.equal(config.base_model_name_or_path, 'Qwen/Qwen2.5-0.5B-Instruct');

  const file = await SafetensorsFile.open(join(dir, ADAPTER_WEIGHTS));
  t.after(() => file.close());
  assert.equal(file.names().length, 2 * 3 * model.numLayers);
  assert.deepEqual(file.info('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight').shape, [4, 16]);
  assert.deepEqual(file.info('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight').shape, [8, 4]);
  assert.deepEqual(file.info('base_model.model.model.layers.1.mlp.down_proj.lora_A.weight').shape, [4, 24]);
  assert.equal(file.info('base_model.model.model.layers.1.mlp.down_proj.lora_B.weight').dtype, 'F32');

  const back = await loadPeftAdapter(dir, model);
  assert.deepEqual(back.config, adapter.config);
  assert.equal(back.pairs.length, adapter.pairs.length);
  back.pairs.forEach((p, i) => {
    assert.equal(p.module, adapter.pairs[i].module);
    assert.deepEqual(p.a, adapter.pairs[i].a);
    assert.deepEqual(p.b, adapter.pairs[i].b);
  });
});

test('adapter_config.json as Python PEFT writes it is understood, including all-linear', () => {
  const lora = parsePeftAdapterConfig(pythonWritten);
  assert.deepEqual(lora, { rank: 4, alpha: 8, dropout: 0.05, targets: ['v', 'q', 'down'] });
  assert.deepEqual(parsePeftAdapterConfig({ ...pythonWritten, target_modules: 'all-linear' }).targets, ['q', 'k', 'v', 'o', 'gate', 'up', 'down']);
});

test('PEFT options whose math we lack are refused by name', () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ use_dora: true }, /use_dora/],
    [{ use_rslora: true }, /use_rslora/],
    [{ rank_pattern: { q_proj: 8 } }, /rank_pattern/],
    [{ bias: 'all' }, /bias other than "none"/],
    [{ modules_to_save: ['lm_head'] }, /modules_to_save/],
    [{ peft_type: 'IA3' }, /peft_type "IA3" is not supported/],
    [{ target_modules: '.*proj' }, /regex string is not supported/],
    [{ target_modules: ['embed_tokens'] }, /Unknown LoRA target module "embed_tokens"/],
    [{ r: 0 }, /rank must be a positive integer/],
  ];
  for (const [patch, message] of cases) assert.throws(() => parsePeftAdapterConfig({ ...pythonWritten, ...patch }), message, JSON.stringify(patch));
});

test('bf16 adapters load as float32', async (t) => {
  const dir = tempDir(t);
  const adapter = trainedAdapter();
  await savePeftAdapter(dir, adapter, { dtype: 'BF16' });
  const back = await loadPeftAdapter(dir, model);
  const a = adapter.pairs[0].a;
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(back.pairs[0].a[i] - a[i]) <= Math.abs(a[i]) * 2 ** -8);
});

test('mismatched, incomplete, extra or pickled adapter weights are refused clearly', async (t) => {
  const dir = tempDir(t);
  await savePeftAdapter(dir, trainedAdapter());
  // Another model: wider hidden size, so shapes no longer match.
  const wider = parseDecoderConfig({ ...model.raw, hidden_size: 32 });
  await assert.rejects(loadPeftAdapter(dir, wider), /q_proj\.lora_A\.weight has shape \[4,16\], expected \[4,32\]/);
  const deeper = parseDecoderConfig({ ...model.raw, num_hidden_layers: 3 });
  await assert.rejects(loadPeftAdapter(dir, deeper), /lacks base_model\.model\.model\.layers\.2\.self_attn\.q_proj\.lora_A\.weight/);
  const shallower = parseDecoderConfig({ ...model.raw, num_hidden_layers: 1 });
  await assert.rejects(loadPeftAdapter(dir, shallower), /tensors this model\/config does not expect: base_model\.model\.model\.layers\.1/);

  renameSync(join(dir, ADAPTER_WEIGHTS), join(dir, 'adapter_model.bin'));
  await assert.rejects(loadPeftAdapter(dir, model), /only pickled adapter weights \(adapter_model\.bin\).*can run arbitrary code/);
  writeFileSync(join(dir, ADAPTER_CONFIG), '{');
  await assert.rejects(loadPeftAdapter(dir, model), /adapter_config\.json is not valid JSON/);
  await assert.rejects(loadPeftAdapter(join(dir, 'nope'), model), /has no adapter_config\.json/);
});
