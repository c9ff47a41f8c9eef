// `slhf adapters import`: a LoRA adapter in the exact layout Python's PEFT writes (its
// adapter_config.json fields, `base_model.model.<module>.lora_A.weight` tensors, a safetensors file
// as the Python library lays it out) imports as a version that gives the same log-probs as the same
// factors trained here; adapters for another base, with a rank that does not match their tensors, with
// NaN weights or with PEFT options this engine does not implement are refused and nothing is registered.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../src/cli';
import { openCheckpoint } from '../../../src/models/checkpoint';
import { loadDecoderWeights } from '../../../src/models/export';
import { makeTinyModel } from '../../../src/models/tiny-models/tiny-model';
import type { LoraAdapter } from '../../../src/models/lora';
import { peftTensorName } from '../../../src/models/peft';
import { runJob } from '../../../src/training/job';
import { Policy } from '../../../src/training/policy';
import { zeroAdapter } from '../../../src/training/trainer';
import { activeAdapterDir, adaptersDir, listVersions, loadVersion, readMeta } from '../../../src/training/versions';
import { pairSamples, syntheticPairs } from './fixtures';

const dir = mkdtempSync(join(tmpdir(), 'slhf-adapter-import-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const shape = { layers: 1, hidden: 32, heads: 2, kvHeads: 1, intermediate: 64 };
const lora = { rank: 2, alpha: 4, dropout: 0, targets: ['q' as const, 'v' as const] };

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), stdin: async () => '' });
  return { code, out, err };
}

/** adapter_config.json as PEFT 0.17 writes it (sorted keys; target_modules from a Python set, in no particular order). */
function pythonAdapterConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    alora_invocation_tokens: null, alpha_pattern: {}, arrow_config: null, auto_mapping: null, base_model_name_or_path: 'someorg/Tiny-Qwen2-Instruct',
    bias: 'none', corda_config: null, ensure_weight_tying: false, eva_config: null, exclude_modules: null, fan_in_fan_out: false,
    inference_mode: true, init_lora_weights: true, layer_replication: null, layers_pattern: null, layers_to_transform: null, loftq_config: {},
    lora_alpha: 4, lora_bias: false, lora_dropout: 0.1, megatron_config: null, megatron_core: 'megatron.core', modules_to_save: null,
    peft_type: 'LORA', peft_version: '0.17.1', qalora_group_size: 16, r: 2, rank_pattern: {}, revision: null, target_modules: ['v_proj', 'q_proj'],
    target_parameters: null, task_type: 'CAUSAL_LM', trainable_token_indices: null, use_dora: false, use_qalora: false, use_rslora: false,
    ...overrides,
  };
}

/** bfloat16 bits of a float32, rounded to nearest even (what torch's .to(torch.bfloat16) does for finite values). */
function bf16Bits(x: number): number {
  const bits = new Uint32Array(Float32Array.of(x).buffer)[0];
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** A safetensors file as Python's library writes it: tensors sorted by name, the JSON header space-padded to 8 bytes. */
function writePythonSafetensors(path: string, tensors: { name: string; shape: number[]; data: Float32Array }[], dtype: 'F32' | 'BF16' = 'F32'): void {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : 1));
  const bytes = sorted.map((t) => (dtype === 'F32' ? Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength) : Buffer.from(Uint16Array.from(t.data, bf16Bits).buffer)));
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  sorted.forEach((t, i) => {
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes[i].length] };
    offset += bytes[i].length;
  });
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([size, Buffer.from(json), ...bytes]));
}

/** The adapter's factors in a PEFT folder as Python writes it; `edit` changes a tensor list before writing. */
function pythonPeftFolder(name: string, adapter: LoraAdapter, config: Record<string, unknown> = {}, edit?: (tensors: { name: string; shape: number[]; data: Float32Array }[]) => void, dtype: 'F32' | 'BF16' = 'F32'): string {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  const rank = adapter.config.rank;
  const tensors = adapter.pairs.flatMap((p) => [
    { name: peftTensorName(p.module, 'A'), shape: [rank, p.inFeatures], data: Float32Array.from(p.a) },
    { name: peftTensorName(p.module, 'B'), shape: [p.outFeatures, rank], data: Float32Array.from(p.b) },
  ]);
  edit?.(tensors);
  writeFileSync(join(folder, 'adapter_config.json'), JSON.stringify(pythonAdapterConfig(config), null, 2));
  writePythonSafetensors(join(folder, 'adapter_model.safetensors'), tensors, dtype);
  writeFileSync(join(folder, 'README.md'), '---\nlibrary_name: peft\n---\n');
  return folder;
}

async function setup() {
  const modelDir = join(dir, 'Tiny-Qwen2-Instruct');
  const { config } = await makeTinyModel({ arch: 'qwen2', tokenizer: 'bytes', out: modelDir, seed: 3, ...shape });
  const pairs = syntheticPairs(12, 1);
  const here = join(dir, 'trained-here');
  // Factors trained here: two SLHF steps on synthetic decisions.
  const trained = await runJob({
    modelDir, outRoot: here, samples: pairSamples(pairs, false), heldOut: [], records: { train: 12, heldOut: 0 }, baseModel: modelDir,
    settings: { lr: 3e-2, steps: 2, batchSize: 8, warmupSteps: 0, lora, intraOpThreads: 1 },
  }, () => {}, () => false);
  const adapter = await loadVersion(here, trained.version, config);
  assert.ok(adapter.pairs.some((p) => p.b.some((x) => x !== 0)), 'training moved the factors');
  const rows = pairs.map((p) => ({ ids: [...p.followerPrompt, ...p.chosen.ids], from: p.followerPrompt.length }));
  const ckpt = await openCheckpoint(modelDir, { requireTokenizer: false });
  const weights = await loadDecoderWeights(ckpt).finally(() => ckpt.close());
  const logprobs = async (a: LoraAdapter) => {
    const policy = await Policy.create(config, weights, { lora: { ...a.config, dropout: 0 } });
    try {
      return await policy.logprobs(rows, policy.adapterFeeds(a));
    } finally {
      await policy.release();
    }
  };
  return { modelDir, config, here, trained, adapter, logprobs };
}

const fixture = setup();

test('a PEFT folder as Python writes it imports as a version with the same log-probs as the factors trained here', async () => {
  const { modelDir, config, here, trained, adapter, logprobs } = await fixture;
  const source = pythonPeftFolder('from-python', adapter);
  const root = join(dir, 'extension-root');
  const run = await cli('adapters', 'import', source, '--out', root, '--follower', modelDir);
  assert.deepEqual([run.code, run.err], [0, '']);
  assert.match(run.out, /imported .*from-python as v0001 .*LoRA r 2, alpha 4, on v_proj, q_proj; trained on someorg\/Tiny-Qwen2-Instruct/);
  const meta = readMeta(root, 'v0001');
  assert.deepEqual(meta.imported && { ...meta.imported, weightsSha256: meta.imported.weightsSha256.length }, {
    source, baseModel: 'someorg/Tiny-Qwen2-Instruct', rank: 2, alpha: 4, targetModules: ['v_proj', 'q_proj'], peftVersion: '0.17.1', weightsSha256: 64,
  });
  assert.equal(meta.baseModel, modelDir);
  assert.equal(activeAdapterDir(root), null, 'importing does not activate');

  const imported = await loadVersion(root, 'v0001', config);
  const [mine, theirs, base] = [await logprobs(adapter), await logprobs(imported), await logprobs(zeroAdapter(adapter))];
  assert.deepEqual(theirs, mine);
  assert.notDeepEqual(mine, base, 'the adapter changes the log-probs');

  // Listed like a trained version, and activated the same way (the refiner reads active.json on every request).
  const activated = await cli('adapters', '--out', root, '--activate', 'v0001');
  assert.equal(activated.code, 0);
  assert.match(activated.out, /\* v0001 .* imported from .*from-python \(r 2, alpha 4, trained on someorg\/Tiny-Qwen2-Instruct\)\nactive: v0001/);
  assert.equal(activeAdapterDir(root), join(adaptersDir(root), 'v0001'));

  // Without --follower the base is the one the folder's newest version names (here: the trained version's).
  const intoTrained = await cli('adapters', 'import', source, '--out', here, '--any-base-name', '--leader', '--json');
  assert.equal(intoTrained.code, 0, intoTrained.err);
  const json = JSON.parse(intoTrained.out);
  assert.equal(json.version, 'v0002');
  assert.equal(json.settings.trainLeader, true);
  assert.deepEqual(listVersions(here), [trained.version, 'v0002']);
});

test('a bfloat16 adapter (a bf16 training run saves its LoRA factors in bf16) imports as those values in float32', async () => {
  const { modelDir, config, adapter } = await fixture;
  const root = join(dir, 'bf16');
  const run = await cli('adapters', 'import', pythonPeftFolder('from-bf16-run', adapter, {}, undefined, 'BF16'), '--out', root, '--follower', modelDir);
  assert.equal(run.code, 0, run.err);
  const imported = await loadVersion(root, 'v0001', config);
  const toBf16 = (values: Float32Array) => Array.from(new Float32Array(Uint32Array.from(values, (x) => bf16Bits(x) << 16).buffer));
  imported.pairs.forEach((p, i) => {
    assert.deepEqual(Array.from(p.a), toBf16(adapter.pairs[i].a));
    assert.deepEqual(Array.from(p.b), toBf16(adapter.pairs[i].b));
  });
});

test('adapters for another base, with a rank their tensors do not have, with NaN weights or unsupported options are refused', async () => {
  const { modelDir, adapter } = await fixture;
  const root = join(dir, 'refusals');
  const refused = async (source: string, pattern: RegExp, ...extra: string[]) => {
    const run = await cli('adapters', 'import', source, '--out', root, '--follower', modelDir, ...extra);
    assert.equal(run.code, 1, run.out);
    assert.match(run.err, /^slhf adapters: refused /);
    assert.match(run.err, pattern);
  };
  await refused(pythonPeftFolder('other-base-name', adapter, { base_model_name_or_path: 'meta-llama/Llama-3.2-1B' }),
    /trained on "meta-llama\/Llama-3.2-1B", but the base model here is .*Tiny-Qwen2-Instruct .*--any-base-name/);
  await refused(pythonPeftFolder('no-base-name', adapter, { base_model_name_or_path: null }), /names no base_model_name_or_path/);

  // Another base with the same name check passed: its projections have other sizes.
  const bigger = join(dir, 'Bigger');
  const { config: biggerConfig } = await makeTinyModel({ arch: 'qwen2', tokenizer: 'bytes', out: bigger, seed: 5, ...shape, hidden: 48 });
  const { initLoraAdapter } = await import('../../../src/models/lora');
  await refused(pythonPeftFolder('other-base-shapes', initLoraAdapter(biggerConfig, lora, 1)), /q_proj.lora_A.weight has shape \[2,48\], expected \[2,32\]/, '--any-base-name');

  // r says 4, the tensors have rank 2.
  await refused(pythonPeftFolder('wrong-rank', adapter, { r: 4, lora_alpha: 8 }), /lora_A.weight has shape \[2,32\], expected \[4,32\] \(rank r = 4 from adapter_config.json/);
  await refused(pythonPeftFolder('nan', adapter, {}, (tensors) => (tensors[1].data[3] = Number.NaN)), /lora_B.weight holds NaN at index 3; the adapter's training diverged/);
  await refused(pythonPeftFolder('extra-tensor', adapter, {}, (tensors) => tensors.push({ ...tensors[0], name: 'base_model.model.lm_head.lora_A.weight' })),
    /tensors this model\/config does not expect: base_model.model.lm_head.lora_A.weight/);
  await refused(pythonPeftFolder('dora', adapter, { use_dora: true }), /does not implement: use_dora/);
  await refused(pythonPeftFolder('pissa', adapter, { init_lora_weights: 'pissa' }), /does not implement: init_lora_weights "pissa"/);
  await refused(pythonPeftFolder('lm-head', adapter, { target_modules: ['q_proj', 'lm_head'] }), /lm_head/);
  await refused(pythonPeftFolder('ia3', adapter, { peft_type: 'IA3' }), /peft_type "IA3" is not supported/);
  assert.deepEqual(listVersions(root), [], 'nothing was registered');
});
