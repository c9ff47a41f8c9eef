// Model folders whose files are not what they claim (issue 18): a file past its size limit, or a
// config.json / tokenizer.json / safetensors file that is a symlink to /dev/zero, a FIFO or a folder,
// is refused before it is read (before: an unbounded read, or an open that never returned).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError, checkModelFolder, openCheckpoint } from '../../../src/models/checkpoint';
import { readDecoderConfig } from '../../../src/models/config';
import { makeTinyModel } from '../../../src/models/tiny-models/tiny-model';
import { MODEL_FILE_LIMITS, ModelFileError, readModelText } from '../../../src/models/model-file';
import { openSafetensors } from '../../../src/models/safetensors';

const posix = process.platform !== 'win32';
let root: string;
let model: string;
let copies = 0;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'slhf-model-file-'));
  model = (await makeTinyModel({ arch: 'llama', tokenizer: 'bytes', out: join(root, 'model'), seed: 1 })).dir;
});

after(() => rmSync(root, { recursive: true, force: true }));

function copy(): string {
  const dir = join(root, `copy-${copies++}`);
  mkdirSync(dir);
  for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']) copyFileSync(join(model, f), join(dir, f));
  return dir;
}

const refused = (pattern: RegExp) => (e: unknown) => (e instanceof CheckpointError || e instanceof ModelFileError || (e as Error).name === 'SafetensorsError' || (e as Error).name === 'ModelConfigError') && pattern.test((e as Error).message);

test('a model file larger than its limit is refused before it is read', async () => {
  const dir = copy();
  // Sparse: no disk is used, but a reader would get tokenizer.json's limit + 1 bytes.
  writeFileSync(join(dir, 'tokenizer.json'), '');
  truncateSync(join(dir, 'tokenizer.json'), MODEL_FILE_LIMITS.tokenizer + 1);
  await assert.rejects(openCheckpoint(dir), refused(/tokenizer\.json is \d+ bytes, above the limit of \d+ bytes for this file/));
  assert.throws(() => checkModelFolder(dir), refused(/tokenizer\.json is \d+ bytes, above the limit/));
  const config = join(dir, 'config.json');
  truncateSync(config, MODEL_FILE_LIMITS.metadata + 1);
  assert.throws(() => readDecoderConfig(config), refused(/config\.json is \d+ bytes, above the limit/));
});

test('a folder where a file should be is named as such, not a raw EISDIR', async () => {
  const dir = copy();
  rmSync(join(dir, 'config.json'));
  mkdirSync(join(dir, 'config.json'));
  await assert.rejects(openCheckpoint(dir), refused(/config\.json is a folder, not a regular file/));
});

test('model files symlinked to /dev/zero are refused (an unbounded read before)', { skip: !posix && 'no /dev/zero' }, async () => {
  for (const name of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'model.safetensors']) {
    const dir = copy();
    rmSync(join(dir, name));
    symlinkSync('/dev/zero', join(dir, name));
    await assert.rejects(openCheckpoint(dir), refused(new RegExp(`${name.replace('.', '\\.')} is a device, not a regular file`)), name);
    if (name !== 'model.safetensors') assert.throws(() => checkModelFolder(dir), refused(/is a device, not a regular file/), name);
  }
  assert.throws(() => readModelText('/dev/zero'), refused(/is a device, not a regular file/));
  const dir = copy();
  writeFileSync(join(dir, 'chat_template.jinja'), '');
  rmSync(join(dir, 'chat_template.jinja'));
  symlinkSync('/dev/zero', join(dir, 'chat_template.jinja'));
  await assert.rejects(openCheckpoint(dir), refused(/chat_template\.jinja is a device/));
});

// Last: on the old code the open of a FIFO blocked the whole process.
test('model files that are FIFOs are refused without blocking on the open', { skip: !posix && 'no FIFOs' }, async () => {
  for (const name of ['config.json', 'tokenizer.json', 'model.safetensors']) {
    const dir = copy();
    rmSync(join(dir, name));
    assert.equal(spawnSync('mkfifo', [join(dir, name)]).status, 0);
    await assert.rejects(openCheckpoint(dir), refused(new RegExp(`${name.replace('.', '\\.')} is a FIFO, not a regular file`)), name);
    if (name === 'model.safetensors') await assert.rejects(openSafetensors(join(dir, name)), refused(/is a FIFO, not a regular file/));
    else assert.throws(() => checkModelFolder(dir), refused(/is a FIFO, not a regular file/));
  }
});

test('the refiner checks a folder before transformers.js reads it: a FIFO tokenizer.json, a config with 1e9 layers', { skip: !posix && 'no FIFOs' }, async () => {
  const { prepareModel } = await import('../../../src/models/export-cache');
  let dir = copy();
  rmSync(join(dir, 'tokenizer.json'));
  assert.equal(spawnSync('mkfifo', [join(dir, 'tokenizer.json')]).status, 0);
  await assert.rejects(prepareModel(dir, null, { cacheDir: join(root, 'cache') }), refused(/tokenizer\.json is a FIFO, not a regular file/));
  // A ready transformers.js folder: its config.json is not ours to interpret, but its sizes are bounded.
  dir = copy();
  mkdirSync(join(dir, 'onnx'));
  writeFileSync(join(dir, 'onnx', 'model.onnx'), 'graph');
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'gemma3_text', num_hidden_layers: 1e9 }));
  await assert.rejects(prepareModel(dir, null, { cacheDir: join(root, 'cache') }), refused(/"num_hidden_layers" is 1000000000, above the limit of 1024/));
});

test('a weights file that is a dangling symlink is named as such', { skip: !posix && 'symlinks need privileges on Windows' }, async () => {
  const dir = copy();
  rmSync(join(dir, 'model.safetensors'));
  symlinkSync(join(root, 'no-such-blob'), join(dir, 'model.safetensors'));
  await assert.rejects(openCheckpoint(dir), refused(/model\.safetensors is a symlink to a missing file/));
});
