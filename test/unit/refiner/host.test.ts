// Model hosting: SPEC resolution (checkpoint folder, ready transformers.js folder, hub id), the
// export cache, one loaded model for two roles on the same base, adapter switching that reloads only
// the Follower, idle unloading and the CPU fallback.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseDecoderConfig } from '../../../src/models/config';
import { initLoraAdapter } from '../../../src/models/lora';
import { savePeftAdapter } from '../../../src/models/peft';
import { ModelHost, physicalCores, refinerThreads, type LoadedModel } from '../../../src/refiner/host';
import { refine } from '../../../src/refiner/loop';
import { exportedDType, prepareModel } from '../../../src/models/export-cache';
import { exportOnnx } from '../../../src/models/export';
import { FakeHub } from '../models/hub-server';
import { collect, results, tempRoot, tinyModel } from './fixtures';

const { root, cleanup } = tempRoot('host');
let modelDir: string;
let adapterA: string;
let adapterB: string;

async function adapter(dir: string, seed: number): Promise<string> {
  const config = parseDecoderConfig(JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')));
  const lora = initLoraAdapter(config, { rank: 2, alpha: 4, dropout: 0, targets: ['q', 'v', 'down'] }, seed);
  for (const pair of lora.pairs) pair.b.forEach((_, i) => (pair.b[i] = Math.sin(seed + i) * 0.5)); // nonzero: the merge changes the model
  await savePeftAdapter(dir, lora);
  return dir;
}

before(async () => {
  modelDir = await tinyModel(join(root, 'tiny'));
  adapterA = await adapter(join(root, 'adapter-a'), 1);
  adapterB = await adapter(join(root, 'adapter-b'), 2);
});
after(cleanup);

const draft = { draft: 'Some text.', rounds: 1, settings: { seed: 3, maxNewTokens: 8, temperature: 0 } };

test('a checkpoint is exported once; the second start builds nothing', async () => {
  const cacheDir = join(root, 'cache-once');
  const first = await prepareModel(modelDir, null, { cacheDir });
  assert.equal(first.built, true);
  assert.ok(statSync(join(first.dir, 'onnx', 'model.onnx')).isFile());
  const stamp = statSync(join(first.dir, 'onnx', 'model.onnx')).mtimeMs;
  const second = await prepareModel(modelDir, null, { cacheDir });
  assert.deepEqual({ ...second, built: true }, first);
  assert.equal(second.built, false);
  assert.equal(statSync(join(first.dir, 'onnx', 'model.onnx')).mtimeMs, stamp);
  assert.match(first.modelId, /#[0-9a-f]{12}$/);
  assert.equal(first.adapterVersion, null);
  // The folder comes with what loading it needs: its config.json and the dtype to load.
  assert.deepEqual(first.config, JSON.parse(readFileSync(join(first.dir, 'config.json'), 'utf8')));
  assert.equal(first.dtype, 'fp32');
  // An adapter is a separate export, keyed by its content.
  const withA = await prepareModel(modelDir, adapterA, { cacheDir });
  const withB = await prepareModel(modelDir, adapterB, { cacheDir });
  assert.equal(withA.built && withB.built, true);
  assert.notEqual(withA.dir, first.dir);
  assert.notEqual(withA.adapterVersion, withB.adapterVersion);
  assert.equal(readdirSync(join(cacheDir, 'onnx')).filter((n) => !n.endsWith('.tmp')).length, 3);
});

test('a ready transformers.js folder is used as is, and an adapter for it is refused', async () => {
  const cacheDir = join(root, 'cache-ready');
  const exported = await prepareModel(modelDir, null, { cacheDir });
  const ready = await prepareModel(exported.dir, null, { cacheDir: join(root, 'cache-ready-2') });
  assert.equal(ready.dir, exported.dir);
  assert.equal(ready.built, false);
  await assert.rejects(prepareModel(exported.dir, adapterA, { cacheDir }), /adapter can only be merged into a Hugging Face checkpoint/);
});

test('half and quantized exports are used as is and loaded in their own dtype', async () => {
  const cacheDir = join(root, 'cache-dtypes');
  const generate = async (spec: string) => {
    const host = new ModelHost({ cacheDir });
    host.configure({ follower: { spec } });
    const [r] = results(await collect(refine(host, draft)));
    await host.unloadAll();
    return r;
  };
  const full = await generate(modelDir);
  for (const [name, options] of [['fp16', { dtype: 'float16' }], ['q8', { quantize: { bits: 8 } }]] as const) {
    const dir = join(root, `export-${name}`);
    await exportOnnx(modelDir, dir, options);
    assert.equal(exportedDType(dir), name);
    const source = await prepareModel(dir, null, { cacheDir });
    assert.deepEqual([source.dir, source.built, source.dtype], [dir, false, name], 'used as is, not exported again');
    const r = await generate(dir);
    // The same greedy start as the float32 model, with a log-prob that differs by rounding only.
    assert.equal(r.tokenIds[0], full.tokenIds[0], name);
    assert.ok(Math.abs(r.logprobs[0] - full.logprobs[0]) < 0.05, `${name}: ${r.logprobs[0]} vs ${full.logprobs[0]}`);
  }
  // A folder with several graphs loads the one its config.json names, else float32.
  const both = join(root, 'export-both');
  await exportOnnx(modelDir, both, {});
  cpSync(join(root, 'export-fp16', 'onnx'), join(both, 'onnx'), { recursive: true });
  assert.equal(exportedDType(both), 'fp32');
  const config = JSON.parse(readFileSync(join(both, 'config.json'), 'utf8'));
  writeFileSync(join(both, 'config.json'), JSON.stringify({ ...config, 'transformers.js_config': { ...config['transformers.js_config'], dtype: 'fp16' } }));
  assert.equal(exportedDType(both), 'fp16');
  assert.equal(exportedDType(modelDir), null, 'a checkpoint folder is not an export');
});

test('a hub id is resolved through the hub cache', async () => {
  const hub = await new FakeHub().start();
  try {
    const files = new Map(readdirSync(modelDir).map((name) => [name, readFileSync(join(modelDir, name))]));
    hub.repos.set('org/tiny', { files, lfs: (f) => f.endsWith('.safetensors') });
    const host = new ModelHost({ cacheDir: join(root, 'cache-hub'), hub: { endpoint: hub.hubUrl, cacheDir: join(root, 'hub-cache'), env: {} } });
    host.configure({ follower: { spec: 'org/tiny' } });
    const [r] = results(await collect(refine(host, draft)));
    assert.match(r.modelId, /^org\/tiny#[0-9a-f]{12}$/);
    assert.equal(r.tokenIds.length > 0, true);
    await host.unloadAll();
  } finally {
    await hub.stop();
  }
});

test("sampling the user left unset comes from each role's own generation_config.json; the user's choice wins", async () => {
  // The fixture asks for greedy decoding (do_sample: false); this copy asks for sampling.
  const samplingDir = join(root, 'tiny-sampling');
  cpSync(modelDir, samplingDir, { recursive: true });
  const generation = JSON.parse(readFileSync(join(modelDir, 'generation_config.json'), 'utf8'));
  writeFileSync(join(samplingDir, 'generation_config.json'), JSON.stringify({ ...generation, do_sample: true, temperature: 0.9, top_p: 0.8, top_k: 5, repetition_penalty: 1.1 }));
  const host = new ModelHost({ cacheDir: join(root, 'cache-sampling') });
  host.configure({ leader: { spec: samplingDir }, follower: { spec: modelDir } });
  const sampling = (r: { sampling: object }) => {
    const { temperature, topP, topK, repetitionPenalty } = r.sampling as Record<string, number>;
    return { temperature, topP, topK, repetitionPenalty };
  };
  const request = (settings: object) => ({ instruction: 'Write.', leaderDraft: true, rounds: 1, settings: { seed: 3, maxNewTokens: 4, ...settings } });
  const [leader, follower] = results(await collect(refine(host, request({}))));
  assert.deepEqual([leader.role, follower.role], ['leader', 'follower']);
  assert.deepEqual(sampling(leader), { temperature: 0.9, topP: 0.8, topK: 5, repetitionPenalty: 1.1 });
  assert.deepEqual(sampling(follower), { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1 });
  const chosen = results(await collect(refine(host, request({ temperature: 0.5, topK: 0 }))));
  assert.deepEqual(chosen.map(sampling), [
    { temperature: 0.5, topP: 0.8, topK: 0, repetitionPenalty: 1.1 },
    { temperature: 0.5, topP: 1, topK: 0, repetitionPenalty: 1 },
  ]);
  await host.unloadAll();
});

test('Leader and Follower on the same base share one loaded model; an adapter switch reloads only the Follower', async () => {
  const host = new ModelHost({ cacheDir: join(root, 'cache-share'), idleUnloadMs: 0 });
  host.configure({ leader: { spec: modelDir }, follower: { spec: modelDir } });
  const grab = (role: 'leader' | 'follower') => host.use(role, async (m: LoadedModel) => m);
  const leader = await grab('leader');
  const follower = await grab('follower');
  assert.equal(leader.model, follower.model, 'one model object for both roles');
  assert.equal(host.loadedModels().length, 1);

  host.setFollowerAdapter(adapterA);
  const followerA = await grab('follower');
  assert.notEqual(followerA.model, leader.model);
  assert.equal((await grab('leader')).model, leader.model, 'the Leader was not reloaded');
  assert.equal(followerA.source.adapterVersion?.length, 12);
  const withA = results(await collect(refine(host, draft)));
  host.setFollowerAdapter(adapterB);
  const followerB = await grab('follower');
  assert.notEqual(followerB.model, followerA.model);
  assert.notEqual(followerB.source.adapterVersion, followerA.source.adapterVersion);
  assert.equal(host.loadedModels().length, 2, 'the adapter-A Follower was unloaded');
  const other = results(await collect(refine(host, draft)));
  assert.equal(other[0].adapterVersion, followerB.source.adapterVersion);
  assert.notDeepEqual(other[0].logprobs, withA[0].logprobs, 'the merged adapter changes the model');

  host.setFollowerAdapter(null);
  assert.equal((await grab('follower')).model, leader.model, 'back on the shared base');
  await host.unloadAll();
  assert.equal(host.loadedModels().length, 0);
});

test('models load on first use and unload after the idle time', async () => {
  const host = new ModelHost({ cacheDir: join(root, 'cache-idle'), idleUnloadMs: 30 });
  host.configure({ follower: { spec: modelDir } });
  assert.deepEqual(host.loadedModels(), [], 'nothing loads before use');
  const first = await host.use('follower', async (m) => m.model);
  assert.equal(host.loadedModels().length, 1);
  for (let i = 0; i < 200 && host.loadedModels().length > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(host.loadedModels(), []);
  const again = await host.use('follower', async (m) => m.model);
  assert.notEqual(again, first, 'loaded afresh');
  await host.unloadAll();
});

test('an unavailable device falls back to the CPU with the reason logged', async () => {
  const logs: string[] = [];
  const host = new ModelHost({ cacheDir: join(root, 'cache-device'), device: 'cuda', log: (m) => logs.push(m) });
  host.configure({ follower: { spec: modelDir } });
  const device = await host.use('follower', async (m) => m.device);
  assert.equal(device, 'cpu');
  assert.ok(logs.some((l) => /device cuda is not available \(.+\); falling back to cpu/.test(l)), logs.join('\n'));
  const [r] = results(await collect(refine(host, draft)));
  assert.ok(r.tokenIds.length > 0);
  await host.unloadAll();
});

test('op threads: physical cores from /proc/cpuinfo (hyper-threads count once), SLHF_THREADS overrides', () => {
  const cpu = (physical: number, core: number) => `processor\t: ${physical * 10 + core}\nphysical id\t: ${physical}\ncore id\t\t: ${core}\n`;
  // Two cores, two hyper-threads each: four processor blocks, two cores.
  const smt = [cpu(0, 0), cpu(0, 1), cpu(0, 0), cpu(0, 1)].join('\n');
  assert.equal(physicalCores(smt), Math.min(2, availableParallelism()));
  // Core ids repeat across sockets: one core on each of two sockets is two cores.
  assert.equal(physicalCores([cpu(0, 0), cpu(1, 0)].join('\n')), Math.min(2, availableParallelism()));
  assert.equal(physicalCores([cpu(0, 0), cpu(0, 0)].join('\n')), 1);
  assert.equal(physicalCores('processor\t: 0\nmodel name\t: x\n'), null); // no core ids (some ARM kernels)
  assert.equal(refinerThreads({ SLHF_THREADS: '3' }), 3);
  assert.equal(refinerThreads({ SLHF_THREADS: '0' }), 0);
  assert.throws(() => refinerThreads({ SLHF_THREADS: 'many' }), /SLHF_THREADS must be a whole number/);
  assert.equal(refinerThreads({}), physicalCores() ?? 0);
});
