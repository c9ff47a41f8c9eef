import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfigLimits, ModelConfigError, parseDecoderConfig, readDecoderConfig } from '../../../src/models/config';

// Abridged from the published config.json files of these checkpoints.
const qwen25_05b = {
  architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_act: 'silu', hidden_size: 896,
  intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2,
  max_position_embeddings: 32768, rms_norm_eps: 1e-6, rope_theta: 1000000.0, sliding_window: 32768,
  use_sliding_window: false, tie_word_embeddings: true, bos_token_id: 151643, eos_token_id: 151645,
  vocab_size: 151936, torch_dtype: 'bfloat16',
};
const llama32_1b = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_act: 'silu', hidden_size: 2048,
  intermediate_size: 8192, num_hidden_layers: 16, num_attention_heads: 32, num_key_value_heads: 8, head_dim: 64,
  max_position_embeddings: 131072, rms_norm_eps: 1e-5, rope_theta: 500000.0, attention_bias: false, mlp_bias: false,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  tie_word_embeddings: true, bos_token_id: 128000, eos_token_id: [128001, 128008, 128009], vocab_size: 128256,
};
const mistral7b = {
  architectures: ['MistralForCausalLM'], model_type: 'mistral', hidden_act: 'silu', hidden_size: 4096,
  intermediate_size: 14336, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8,
  max_position_embeddings: 32768, rms_norm_eps: 1e-5, rope_theta: 1000000.0, sliding_window: null,
  tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2, vocab_size: 32768,
};

test('Qwen2.5-0.5B: GQA, q/k/v bias, tied embeddings, sliding window off', () => {
  const c = parseDecoderConfig(qwen25_05b);
  assert.equal(c.modelType, 'qwen2');
  assert.equal(c.headDim, 64);
  assert.equal(c.numKvHeads, 2);
  assert.equal(c.qkvBias, true);
  assert.equal(c.oBias, false);
  assert.equal(c.tieWordEmbeddings, true);
  assert.equal(c.slidingWindow, null);
  assert.equal(c.ropeTheta, 1e6);
  assert.equal(c.ropeScaling, null);
  assert.equal(c.rmsNormEps, 1e-6);
  assert.deepEqual(c.eosTokenIds, [151645]);
  assert.equal(c.bosTokenId, 151643);
  assert.equal(c.raw.torch_dtype, 'bfloat16');
});

test('Llama 3.2-1B: explicit head_dim, llama3 rope scaling, eos list, no bias', () => {
  const c = parseDecoderConfig(llama32_1b);
  assert.equal(c.headDim, 64);
  assert.deepEqual(c.ropeScaling, { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 });
  assert.deepEqual(c.eosTokenIds, [128001, 128008, 128009]);
  assert.equal(c.qkvBias, false);
  assert.equal(c.oBias, false);
  assert.equal(c.mlpBias, false);
  assert.equal(c.padTokenId, null);
});

test('Mistral 7B v0.3: head_dim from hidden size, untied, sliding window only when set', () => {
  const c = parseDecoderConfig(mistral7b);
  assert.equal(c.headDim, 128);
  assert.equal(c.numKvHeads, 8);
  assert.equal(c.tieWordEmbeddings, false);
  assert.equal(c.slidingWindow, null);
  assert.equal(c.qkvBias, false);
  assert.equal(parseDecoderConfig({ ...mistral7b, sliding_window: 4096 }).slidingWindow, 4096);
});

test('defaults follow the Hugging Face config classes', () => {
  const minimal = { model_type: 'llama', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 4, vocab_size: 100 };
  const c = parseDecoderConfig(minimal);
  assert.equal(c.numKvHeads, 4, 'MHA when num_key_value_heads is absent');
  assert.equal(c.headDim, 8);
  assert.equal(c.ropeTheta, 10000);
  assert.equal(c.tieWordEmbeddings, false);
  assert.deepEqual(c.eosTokenIds, []);
  // A head_dim of null (as some configs write) means "derive it".
  assert.equal(parseDecoderConfig({ ...minimal, head_dim: null }).headDim, 8);
});

test('Llama attention_bias and mlp_bias switch on every projection bias', () => {
  const c = parseDecoderConfig({ ...llama32_1b, attention_bias: true, mlp_bias: true });
  assert.deepEqual([c.qkvBias, c.oBias, c.mlpBias], [true, true, true]);
});

test('rope_scaling: old "type" key, "default", linear, and unsupported types', () => {
  const scaling = llama32_1b.rope_scaling;
  const { rope_type: _drop, ...withoutRopeType } = scaling;
  assert.equal(parseDecoderConfig({ ...llama32_1b, rope_scaling: { ...withoutRopeType, type: 'llama3' } }).ropeScaling?.type, 'llama3');
  assert.equal(parseDecoderConfig({ ...llama32_1b, rope_scaling: { rope_type: 'default' } }).ropeScaling, null);
  assert.deepEqual(parseDecoderConfig({ ...llama32_1b, rope_scaling: { type: 'linear', factor: 2 } }).ropeScaling, { type: 'linear', factor: 2 });
  assert.throws(() => parseDecoderConfig({ ...qwen25_05b, rope_scaling: { type: 'yarn', factor: 4 } }), /rope_scaling type "yarn" is not supported/);
  assert.throws(() => parseDecoderConfig({ ...llama32_1b, rope_scaling: { ...scaling, high_freq_factor: 0.5 } }), /must exceed low_freq_factor/);
  assert.throws(() => parseDecoderConfig({ ...llama32_1b, rope_scaling: { rope_type: 'llama3', factor: 8 } }), /low_freq_factor/);
});

test('unsupported architectures are named in the error', () => {
  assert.throws(
    () => parseDecoderConfig({ ...llama32_1b, model_type: 'gemma2', architectures: ['Gemma2ForCausalLM'] }),
    (err: Error) => err instanceof ModelConfigError && /"gemma2" \(Gemma2ForCausalLM\)/.test(err.message) && /llama, qwen2, mistral/.test(err.message),
  );
  assert.throws(() => parseDecoderConfig({ hidden_size: 4 }), /Unsupported model_type undefined/);
});

test('invalid values are refused with the field named', () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ hidden_size: -1 }, /"hidden_size" must be a positive integer/],
    [{ hidden_size: '2048' }, /"hidden_size" must be a positive integer/],
    [{ num_key_value_heads: 5 }, /multiple of num_key_value_heads/],
    [{ eos_token_id: [1, 'x'] }, /"eos_token_id" must be a token id or a list/],
    [{ tie_word_embeddings: 'yes' }, /"tie_word_embeddings" must be true or false/],
    [{ rms_norm_eps: 0 }, /"rms_norm_eps" must be a positive number/],
    [{ hidden_act: 'gelu' }, /hidden_act "gelu" is not supported/],
    [{ head_dim: 63 }, /head_dim must be even/],
  ];
  for (const [patch, message] of cases) assert.throws(() => parseDecoderConfig({ ...llama32_1b, ...patch }), message, JSON.stringify(patch));
  assert.throws(() => parseDecoderConfig({ ...llama32_1b, head_dim: undefined, hidden_size: 2050 }), /not divisible/);
  assert.throws(() => parseDecoderConfig([1]), /must hold a JSON object/);
});

test('readDecoderConfig names the file when it is missing or not JSON', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'slhf-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.throws(() => readDecoderConfig(join(dir, 'config.json')), /Cannot read .*config\.json/);
  writeFileSync(join(dir, 'config.json'), '{ nope');
  assert.throws(() => readDecoderConfig(join(dir, 'config.json')), /config\.json is not valid JSON/);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(qwen25_05b));
  assert.equal(readDecoderConfig(join(dir, 'config.json')).numLayers, 24);
});

test('size fields above sane limits are refused before anything is allocated (num_hidden_layers 1e9 grew past 1.7 GB)', () => {
  const refused = (patch: Record<string, unknown>, pattern: RegExp) =>
    assert.throws(() => parseDecoderConfig({ ...qwen25_05b, ...patch }), (e: Error) => e instanceof ModelConfigError && pattern.test(e.message), JSON.stringify(patch));
  refused({ num_hidden_layers: 1e9 }, /"num_hidden_layers" is 1000000000, above the limit of 1024/);
  refused({ hidden_size: 2 ** 30, num_attention_heads: 16, num_key_value_heads: 16 }, /"hidden_size" is \d+, above the limit of 65536/);
  refused({ intermediate_size: 1e8 }, /"intermediate_size" is 100000000, above the limit/);
  refused({ num_attention_heads: 1 << 20, num_key_value_heads: 1 << 20, head_dim: 64 }, /"num_attention_heads" is 1048576, above the limit/);
  refused({ head_dim: 1 << 16 }, /"head_dim" is 65536, above the limit/);
  refused({ vocab_size: 1e9 }, /"vocab_size" is 1000000000, above the limit/);
  refused({ max_position_embeddings: 1e12 }, /"max_position_embeddings" is 1000000000000, above the limit/);
  refused({ use_sliding_window: true, sliding_window: 1e12 }, /"sliding_window" is 1000000000000, above the limit/);
  refused({ eos_token_id: 2 ** 40 }, /"eos_token_id" .* above the limit/);
  refused({ rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 1e12 } },
    /"original_max_position_embeddings" is 1000000000000, above the limit/);
  // The largest published configs stay inside (Llama 3.1 405B's sizes, a 256k vocabulary, a 10M context).
  parseDecoderConfig({ ...llama32_1b, hidden_size: 16384, intermediate_size: 53248, num_hidden_layers: 126, num_attention_heads: 128, head_dim: 128, vocab_size: 262144, max_position_embeddings: 10485760 });
});

test('checkConfigLimits bounds the size fields of a config.json we do not otherwise read (a ready ONNX folder)', () => {
  checkConfigLimits({ model_type: 'gemma3', num_hidden_layers: 34, text_config: { hidden_size: 2560 } });
  assert.throws(() => checkConfigLimits({ model_type: 'gemma3', num_hidden_layers: 1e9 }), /"num_hidden_layers" is 1000000000, above the limit of 1024/);
  assert.throws(() => checkConfigLimits({ text_config: { vocab_size: 1e10 } }), /"vocab_size" is 10000000000, above the limit/);
});
