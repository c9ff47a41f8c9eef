import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError, openCheckpoint } from '../../../src/models/checkpoint';
import { makeTinyModel } from '../../../src/models/tiny-models/tiny-model';
import { CHATML_TEMPLATE } from '../../../src/models/tiny-models/byte-tokenizer';
import { SafetensorsError, SafetensorsFile } from '../../../src/models/safetensors';
import { writeSafetensors } from '../../../src/models/safetensors-writer';
import { resolveModelSpec, ModelSpecError } from '../../../src/models/spec';

let root: string;
let model: string;
let copies = 0;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'slhf-ckpt-'));
  model = (await makeTinyModel({ arch: 'llama', tokenizer: 'bytes', out: join(root, 'model'), seed: 1 })).dir;
});

after(() => rmSync(root, { recursive: true, force: true }));

/** A copy of the fixture folder that a test may damage. */
function copy(): string {
  const dir = join(root, `copy-${copies++}`);
  mkdirSync(dir);
  for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']) copyFileSync(join(model, f), join(dir, f));
  return dir;
}

function rejectsWith(code: string, message: RegExp) {
  return (err: unknown) => err instanceof CheckpointError && err.code === code && message.test(err.message);
}

test('opens a model folder: config, tokenizer, chat template, generation config, weights', async () => {
  const ckpt = await openCheckpoint(model);
  try {
    assert.equal(ckpt.config.modelType, 'llama');
    assert.equal(ckpt.config.ropeScaling?.type, 'llama3');
    assert.equal((ckpt.tokenizer?.model as { type: string }).type, 'BPE');
    assert.equal(ckpt.chatTemplate, CHATML_TEMPLATE);
    assert.equal(ckpt.tokenizerConfig.eos_token, '<|im_end|>');
    assert.ok(Array.isArray(ckpt.generationConfig?.eos_token_id));
    assert.ok(ckpt.weights.has('lm_head.weight'), 'llama fixtures are untied');
    assert.equal((await ckpt.weights.readFloat32('model.norm.weight')).length, ckpt.config.hiddenSize);
  } finally {
    await ckpt.close();
  }
});

test('chat templates also come from a named-template list or chat_template.jinja', async () => {
  const dir = copy();
  const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...config, chat_template: [{ name: 'tool_use', template: 'T' }, { name: 'default', template: 'D' }] }));
  let ckpt = await openCheckpoint(dir);
  assert.equal(ckpt.chatTemplate, 'D');
  await ckpt.close();
  delete config.chat_template;
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  writeFileSync(join(dir, 'chat_template.jinja'), 'J');
  ckpt = await openCheckpoint(dir);
  assert.equal(ckpt.chatTemplate, 'J');
  await ckpt.close();
});

test('pickled weights are refused with the reason', async () => {
  const dir = copy();
  renameSync(join(dir, 'model.safetensors'), join(dir, 'pytorch_model.bin'));
  await assert.rejects(openCheckpoint(dir), rejectsWith('pickled-weights', /only pickled PyTorch weights \(pytorch_model\.bin\)\. Loading pickle files can run arbitrary code/));
  rmSync(join(dir, 'pytorch_model.bin'));
  await assert.rejects(openCheckpoint(dir), rejectsWith('no-weights', /has no weights/));
});

test('safetensors win over pickles lying beside them; corrupt weights name the file', async () => {
  const dir = copy();
  writeFileSync(join(dir, 'pytorch_model.bin'), 'not loaded');
  const ckpt = await openCheckpoint(dir);
  assert.ok(ckpt.weights.has('model.embed_tokens.weight'));
  await ckpt.close();
  const weights = readFileSync(join(dir, 'model.safetensors'));
  writeFileSync(join(dir, 'model.safetensors'), weights.subarray(0, weights.length / 2));
  await assert.rejects(openCheckpoint(dir), (e: Error) => e instanceof SafetensorsError && e.message.includes(join(dir, 'model.safetensors')) && /truncated/.test(e.message));
});

test('missing or broken files give typed errors naming the file', async () => {
  await assert.rejects(openCheckpoint(join(root, 'nowhere')), rejectsWith('not-a-folder', /is not a folder/));
  let dir = copy();
  rmSync(join(dir, 'config.json'));
  await assert.rejects(openCheckpoint(dir), rejectsWith('missing-config', /no config\.json/));
  dir = copy();
  writeFileSync(join(dir, 'config.json'), '{"model_type": "llama",');
  await assert.rejects(openCheckpoint(dir), rejectsWith('bad-json', /config\.json is not valid JSON/));
  dir = copy();
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'phi3' }));
  await assert.rejects(openCheckpoint(dir), rejectsWith('bad-config', /Unsupported model_type "phi3"/));
  dir = copy();
  rmSync(join(dir, 'tokenizer.json'));
  await assert.rejects(openCheckpoint(dir), rejectsWith('missing-tokenizer', /no tokenizer\.json/));
  const ckpt = await openCheckpoint(dir, { requireTokenizer: false });
  assert.equal(ckpt.tokenizer, null);
  await ckpt.close();
});

test('weights that disagree with config.json are refused, listing the problems', async () => {
  const dir = copy();
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, num_hidden_layers: 3, intermediate_size: 96 }));
  await assert.rejects(openCheckpoint(dir), rejectsWith('bad-weights', /model\.layers\.0\.mlp\.gate_proj\.weight has shape \[128,64\] but config\.json implies \[96,64\].*missing model\.layers\.2\./));
  const ckpt = await openCheckpoint(dir, { checkWeights: false });
  await ckpt.close();
});

test('sharded weights open through the index', async () => {
  const dir = copy();
  const single = await SafetensorsFile.open(join(dir, 'model.safetensors'));
  const names = single.names();
  const half = Math.ceil(names.length / 2);
  const shards = [names.slice(0, half), names.slice(half)];
  const weightMap: Record<string, string> = {};
  for (const [i, part] of shards.entries()) {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    const tensors = [];
    for (const name of part) {
      tensors.push({ name, dtype: 'F32' as const, shape: single.info(name).shape, data: await single.readFloat32(name) });
      weightMap[name] = file;
    }
    await writeSafetensors(join(dir, file), tensors);
  }
  const expected = await single.readFloat32('model.embed_tokens.weight');
  await single.close();
  rmSync(join(dir, 'model.safetensors'));
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  const ckpt = await openCheckpoint(dir);
  assert.deepEqual(await ckpt.weights.readFloat32('model.embed_tokens.weight'), expected);
  assert.equal(ckpt.weights.names().length, names.length);
  await ckpt.close();
});

test('model specs: existing folders resolve locally, path-like typos are not sent to the hub', async () => {
  assert.equal(await resolveModelSpec(model), model);
  assert.equal(await resolveModelSpec(`  ${model}  `), model);
  await assert.rejects(resolveModelSpec('./no/such/model'), (e: Error) => e instanceof ModelSpecError && /No such model folder/.test(e.message));
  await assert.rejects(resolveModelSpec(join(model, 'config.json')), /is a file/);
  await assert.rejects(resolveModelSpec('not a model'), /neither an existing folder nor a hub id/);
  await assert.rejects(resolveModelSpec(''), /No model given/);
  // A hub id goes to the hub layer; offline with an empty cache it reports what is missing.
  await assert.rejects(resolveModelSpec('org/name', { offline: true, cacheDir: join(root, 'empty-cache') }), /Offline mode: org\/name@main/);
});
