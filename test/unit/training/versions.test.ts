// Adapter versions: the PEFT export re-imports to identical weights, versions carry metadata,
// active.json switches only by an explicit activation, rollback walks back, and half-written
// folders are never listed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initLoraAdapter } from '../../../src/models/lora';
import { loadPeftAdapter } from '../../../src/models/peft';
import { seededRandom } from '../../../src/base/seeded-random';
import { activate, activeAdapterDir, adaptersDir, LEADER_ADAPTER_DIR, listVersions, loadVersion, readActive, readMeta, rollback, saveVersion } from '../../../src/training/versions';
import { runJob } from '../../../src/training/job';
import type { TrainJob } from '../../../src/training/protocol';
import { pairSamples, syntheticPairs, tinyFixture } from './fixtures';

const meta = { baseModel: 'tiny', data: { trainPairs: 3, heldOutPairs: 1, samples: 3 }, metrics: { heldOutAccuracy: 0.75 }, settings: { lr: 1e-3 } };

test('a saved version re-imports (PEFT layout) to bit-identical weights, with its metadata', async () => {
  const f = await tinyFixture();
  after(f.cleanup);
  const root = join(f.dir, 'out');
  const adapter = initLoraAdapter(f.config, { rank: 4, alpha: 8, dropout: 0, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] }, 3);
  const rand = seededRandom(4);
  for (const p of adapter.pairs) for (let i = 0; i < p.b.length; i++) p.b[i] = rand() - 0.5;
  const version = await saveVersion(root, adapter, meta);
  assert.equal(version, 'v0001');
  const dir = join(adaptersDir(root), version);
  assert.ok(existsSync(join(dir, 'adapter_config.json')) && existsSync(join(dir, 'adapter_model.safetensors')));
  const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
  assert.equal(config.peft_type, 'LORA');
  assert.equal(config.base_model_name_or_path, 'tiny');
  const back = await loadPeftAdapter(dir, f.config);
  assert.deepEqual(back.config, adapter.config);
  back.pairs.forEach((p, i) => {
    assert.equal(p.module, adapter.pairs[i].module);
    assert.deepEqual(p.a, adapter.pairs[i].a);
    assert.deepEqual(p.b, adapter.pairs[i].b);
  });
  assert.deepEqual((await loadVersion(root, version, f.config)).pairs[3].b, adapter.pairs[3].b);
  const m = readMeta(root, version);
  assert.equal(m.version, 'v0001');
  assert.deepEqual(m.data, meta.data);
  assert.ok(!Number.isNaN(Date.parse(m.createdAt)));
  // Saving does not activate.
  assert.equal(readActive(root), null);
});

test('activation, rollback to the previous version and then to the base model; temp folders are ignored', async () => {
  const f = await tinyFixture();
  after(f.cleanup);
  const root = mkdtempSync(join(tmpdir(), 'slhf-versions-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const adapter = initLoraAdapter(f.config, { rank: 2, alpha: 4, dropout: 0, targets: ['q'] }, 1);
  const v1 = await saveVersion(root, adapter, meta);
  const v2 = await saveVersion(root, adapter, meta);
  mkdirSync(join(adaptersDir(root), 'v0003.tmp-123-456'));
  mkdirSync(join(adaptersDir(root), 'v0004'));
  writeFileSync(join(adaptersDir(root), 'v0004', 'adapter_config.json'), '{');
  assert.deepEqual(listVersions(root), [v1, v2]);
  activate(root, v1);
  activate(root, v2);
  assert.deepEqual([readActive(root)!.version, readActive(root)!.previous], [v2, v1]);
  assert.equal(activeAdapterDir(root), join(adaptersDir(root), v2));
  assert.equal(rollback(root).version, v1);
  assert.equal(rollback(root).version, null);
  assert.equal(activeAdapterDir(root), null);
  assert.throws(() => rollback(root), /nothing to roll back/);
  assert.throws(() => activate(root, 'v0004'), /no adapter version v0004/);
});

test('separate adapters: a version keeps the Leader\'s own adapter in leader/, and the next run continues from it', async () => {
  const f = await tinyFixture();
  after(f.cleanup);
  const root = join(f.dir, 'separate');
  const job = (startFrom: string | null): TrainJob => ({
    modelDir: f.modelDir, outRoot: root, samples: pairSamples(syntheticPairs(12, 1), true), heldOut: [], records: { train: 12, heldOut: 0 }, startFrom,
    settings: { lr: 3e-3, steps: 2, batchSize: 8, warmupSteps: 0, lora: { rank: 2, alpha: 4, dropout: 0, targets: ['q', 'v'] }, intraOpThreads: 1, trainLeader: true, separateAdapters: true },
  });
  const first = await runJob(job(null), () => {}, () => false);
  const dir = join(adaptersDir(root), first.version);
  const follower = await loadPeftAdapter(dir, f.config);
  const leader = await loadPeftAdapter(join(dir, LEADER_ADAPTER_DIR), f.config);
  // Both trained (B left zero), and apart: two adapters, not one saved twice.
  assert.ok(leader.pairs.some((p) => p.b.some((x) => x !== 0)) && follower.pairs.some((p) => p.b.some((x) => x !== 0)));
  assert.notDeepEqual(leader.pairs[0].b, follower.pairs[0].b);
  const second = await runJob(job(dir), () => {}, () => false);
  const leaderAfter = await loadPeftAdapter(join(adaptersDir(root), second.version, LEADER_ADAPTER_DIR), f.config);
  // Offline, the Leader's steps depend on its own adapter only: a restarted Leader would repeat the
  // first run's (as `fresh` shows), a continued one moves on.
  assert.notDeepEqual(leaderAfter.pairs[0].b, leader.pairs[0].b);
  const fresh = await runJob(job(null), () => {}, () => false);
  const freshLeader = await loadPeftAdapter(join(adaptersDir(root), fresh.version, LEADER_ADAPTER_DIR), f.config);
  assert.deepEqual(freshLeader.pairs[0].b, leader.pairs[0].b, 'a fresh run repeats the first (same seed)');
});
