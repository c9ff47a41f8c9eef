// Versions are tied to the base model they were trained on (issue 19, item 1): a version trained on
// base A records A's identity, is neither listed nor applied once the Follower is base B, and applies
// again to A under another path (the built-in model moves with every extension update).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel } from '../../../src/models/tiny-models/tiny-model';
import { baseModelIdentity, sameBaseModel } from '../../../src/models/base-identity';
import { runJob } from '../../../src/training/job';
import { listVersions, readMeta } from '../../../src/training/versions';
import { currentBase, notAppliedNote, splitByBase, switchNote } from '../../../src/ui/version-base';
import { pairSamples, syntheticPairs, tinyFixture } from '../training/fixtures';

const dir = mkdtempSync(join(tmpdir(), 'slhf-version-base-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a trained version records its base model; it fits that model under any path and no other model', async () => {
  const a = await tinyFixture();
  after(a.cleanup);
  const root = join(dir, 'out');
  const trained = await runJob({
    modelDir: a.modelDir, outRoot: root, baseModel: a.modelDir, samples: pairSamples(syntheticPairs(8, 1), false), heldOut: [], records: { train: 8, heldOut: 0 },
    settings: { lr: 3e-3, steps: 1, batchSize: 8, warmupSteps: 0, lora: { rank: 2, alpha: 4, dropout: 0, targets: ['q', 'v'] }, intraOpThreads: 1 },
  }, () => {}, () => false);
  const meta = readMeta(root, trained.version);
  assert.equal(meta.base?.spec, a.modelDir);
  assert.match(meta.base?.configSha256 ?? '', /^[0-9a-f]{64}$/);
  assert.match(meta.base?.shape ?? '', /^qwen2, layers 1, hidden 32/);

  // Base B: another architecture size. The version is hidden and never applied.
  const b = join(dir, 'model-b');
  await makeTinyModel({ arch: 'qwen2', tokenizer: 'bytes', out: b, seed: 1, layers: 2, hidden: 32, heads: 2, kvHeads: 1, intermediate: 64 });
  const onB = await currentBase(b);
  assert.equal(sameBaseModel(meta, onB), false);
  const fit = splitByBase(listVersions(root).map((version) => ({ version, meta: readMeta(root, version) })), onB);
  assert.deepEqual([fit.fitting.length, fit.other.map((v) => v.version)], [0, [trained.version]]);
  assert.match(switchNote(b, { version: trained.version, meta }, fit), /no trained version applies.*v0001 was trained on .*model\b.*apply again when you switch back/s);
  assert.match(notAppliedNote(trained.version, meta, b), /not applied: refinements use .*model-b untrained/);

  // A's files under another path (an extension update moves the built-in model): still A.
  const moved = join(dir, 'moved', 'default-model');
  cpSync(a.modelDir, moved, { recursive: true });
  const onMoved = await currentBase(moved);
  assert.equal(sameBaseModel(meta, onMoved), true);
  assert.match(switchNote(moved, { version: trained.version, meta }, splitByBase([{ version: trained.version, meta }], onMoved)), /trained version v0001 applies/);
});

test('same shapes but another config.json (another checkpoint of one architecture) is another model', async () => {
  const a = join(dir, 'same-shape-a');
  const b = join(dir, 'same-shape-b');
  await makeTinyModel({ arch: 'llama', tokenizer: 'bytes', out: a, seed: 1 });
  await makeTinyModel({ arch: 'llama', tokenizer: 'bytes', out: b, seed: 2 });
  const config = JSON.parse(readFileSync(join(b, 'config.json'), 'utf8'));
  writeFileSync(join(b, 'config.json'), JSON.stringify({ ...config, rope_theta: 500000 }));
  const idA = baseModelIdentity(a, a);
  const idB = baseModelIdentity(b, b);
  assert.equal(idA.shape, idB.shape);
  assert.equal(sameBaseModel({ base: idA, baseModel: a }, idB), false);
});

test('without content on one side: the same shape and model name decide; a version that named only its spec goes by name', async () => {
  const shapeOnly = { spec: 'Qwen/Qwen2.5-0.5B-Instruct', configSha256: null, shape: 'qwen2, layers 24' };
  assert.equal(sameBaseModel({ base: shapeOnly, baseModel: shapeOnly.spec }, { spec: '/models/Qwen2.5-0.5B-Instruct', configSha256: 'a', shape: 'qwen2, layers 24' }), true);
  assert.equal(sameBaseModel({ base: shapeOnly, baseModel: shapeOnly.spec }, { spec: '/models/Qwen2.5-0.5B-Instruct', configSha256: 'a', shape: 'qwen2, layers 28' }), false);
  // Not downloaded yet: only the spec is known.
  const notHere = await currentBase('Org/Not-Downloaded-Model');
  assert.deepEqual(notHere, { spec: 'Org/Not-Downloaded-Model' });
  assert.equal(sameBaseModel({ baseModel: 'org/not-downloaded-model' }, notHere), true);
  assert.equal(sameBaseModel({ baseModel: '/ext/assets/default-model' }, notHere), false);
  assert.equal(sameBaseModel({ baseModel: null }, notHere), false);
});
