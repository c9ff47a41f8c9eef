// Training in its own process: the typed progress protocol, a successful run that activates a new
// version, cancellation that activates nothing, and kill -9 in the middle of training (and of its
// checkpoint writes) that leaves the active adapter and the preference store intact.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPeftAdapter } from '../../../src/models/peft';
import { createLogger } from '../../../src/store/logger';
import { PreferenceStore } from '../../../src/store/store';
import { startTraining, trainingMemoryMessage, type WorkerEntry } from '../../../src/training/process';
import type { TrainJob, WorkerMessage } from '../../../src/training/protocol';
import { activeAdapterDir, listVersions, readActive } from '../../../src/training/versions';
import { pairSamples, syntheticPairs, tinyFixture, type TinyFixture } from './fixtures';
import { session } from '../store/fixtures/records';

const entry: WorkerEntry = { path: join(__dirname, '..', '..', '..', 'src', 'training', 'worker.ts'), execArgv: ['--import', 'tsx'] };
let f: TinyFixture;
before(async () => {
  f = await tinyFixture();
});
after(() => f.cleanup());

const job = (outRoot: string, steps: number, extra: Partial<TrainJob['settings']> = {}): TrainJob => ({
  modelDir: f.modelDir, outRoot, samples: pairSamples(syntheticPairs(24, 1), false), heldOut: pairSamples(syntheticPairs(8, 2), false), records: { train: 24, heldOut: 8 }, baseModel: 'tiny',
  settings: { lr: 3e-3, steps, batchSize: 8, lora: { rank: 4, alpha: 8, dropout: 0, targets: ['q', 'v'] }, intraOpThreads: 1, ...extra },
});
const hash = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

test('a run reports started, eval, every step, eval, done, and activates the new version', async () => {
  const root = join(f.dir, 'ok');
  const messages: WorkerMessage[] = [];
  const outcome = await startTraining(job(root, 5), (m) => messages.push(m), entry).result;
  assert.ok(outcome.ok, JSON.stringify(outcome));
  assert.deepEqual(messages.map((m) => m.type), ['started', 'eval', 'progress', 'progress', 'progress', 'progress', 'progress', 'eval', 'done']);
  const steps = messages.flatMap((m) => (m.type === 'progress' ? [m.progress] : []));
  assert.deepEqual(steps.map((p) => p.step), [1, 2, 3, 4, 5]);
  for (const p of steps) for (const key of ['loss', 'kl', 'followerScore', 'tokensPerSecond', 'etaSeconds', 'lr', 'gradNorm'] as const) assert.ok(Number.isFinite(p[key]), key);
  assert.equal(readActive(root)!.version, 'v0001');
  assert.equal(outcome.ok && outcome.meta.data.trainPairs, 24);
  assert.equal(outcome.ok && typeof outcome.meta.metrics.heldOutAccuracy, 'number');
  assert.deepEqual(existsSync(join(root, 'runs')) ? readdirSync(join(root, 'runs')) : [], []);
});

test('cancel stops the run between steps; nothing new is saved or activated', async () => {
  const root = join(f.dir, 'cancel');
  const first = await startTraining(job(root, 2), undefined, entry).result;
  assert.ok(first.ok);
  let cancelled = false;
  const run = startTraining(job(root, 100_000), (m) => {
    if (m.type === 'progress' && !cancelled) {
      cancelled = true;
      run.cancel();
    }
  }, entry);
  const outcome = await run.result;
  assert.deepEqual(outcome.ok ? 'ok' : outcome.kind, 'cancelled');
  assert.deepEqual(listVersions(root), ['v0001']);
  assert.equal(readActive(root)!.version, 'v0001');
});

test('kill -9 during training (with a checkpoint every step) leaves the active adapter and the store intact', async () => {
  const root = join(f.dir, 'kill');
  const first = await startTraining(job(root, 2), undefined, entry).result;
  assert.ok(first.ok);
  const activeBefore = readFileSync(join(root, 'active.json'), 'utf8');
  const adapterDir = activeAdapterDir(root)!;
  const adapterBefore = hash(join(adapterDir, 'adapter_model.safetensors'));
  const storeDir = join(f.dir, 'store');
  const store = await PreferenceStore.open(storeDir, { logger: createLogger({ level: 'silent' }) });
  await store.put(session());
  const pairsBefore = await store.pairs();
  const storeFile = join(storeDir, 'slhf-store.jsonl');
  const storeBefore = hash(storeFile);

  let checkpoints = 0;
  const run = startTraining(job(root, 100_000, { checkpointEvery: 1 }), (m) => {
    if (m.type === 'checkpoint') checkpoints += 1;
    if (checkpoints === 3) run.child.kill('SIGKILL');
  }, entry);
  const outcome = await run.result;
  assert.equal(outcome.ok, false);
  assert.match(!outcome.ok ? outcome.message : '', /signal SIGKILL/);

  assert.equal(readFileSync(join(root, 'active.json'), 'utf8'), activeBefore);
  assert.deepEqual(listVersions(root), ['v0001']);
  assert.equal(hash(join(adapterDir, 'adapter_model.safetensors')), adapterBefore);
  await loadPeftAdapter(adapterDir, f.config);
  assert.equal(hash(storeFile), storeBefore);
  const reopened = await PreferenceStore.open(storeDir, { logger: createLogger({ level: 'silent' }) });
  assert.deepEqual(await reopened.pairs(), pairsBefore);
});

test('bad input ends the run as invalid, with the reason, and activates nothing', async () => {
  const root = join(f.dir, 'invalid');
  const bad = job(root, 2);
  bad.samples[0] = { ...bad.samples[0], completion: [1, 99999] };
  const outcome = await startTraining(bad, undefined, entry).result;
  assert.deepEqual(outcome.ok ? null : [outcome.kind, /token id 99999 outside the vocabulary/.test(outcome.message)], ['invalid', true]);
  assert.equal(readActive(root), null);
});

test('a parent that disconnects cancels the run: the worker exits and activates nothing', async () => {
  const root = join(f.dir, 'orphan');
  let disconnected = false;
  const run = startTraining(job(root, 100_000), (m) => {
    if (m.type === 'progress' && !disconnected) {
      disconnected = true;
      run.child.disconnect();
    }
  }, entry);
  const code = await new Promise<number | null>((resolve) => run.child.on('exit', (c) => resolve(c)));
  assert.equal(code, 1);
  assert.equal(readActive(root), null);
  assert.deepEqual(listVersions(root), []);
});

test('a run over its memory cap is killed with a clear message; nothing new is saved or activated', async () => {
  const root = join(f.dir, 'memory');
  const first = await startTraining(job(root, 2), undefined, entry).result;
  assert.ok(first.ok);
  // A cap below what any Node process needs: the first poll after start finds it over.
  const run = startTraining(job(root, 100_000), undefined, entry, { memoryLimitBytes: 16 * 2 ** 20 });
  const outcome = await run.result;
  assert.deepEqual(outcome, { ok: false, kind: 'failed', message: trainingMemoryMessage(16 * 2 ** 20) });
  assert.match(trainingMemoryMessage(16 * 2 ** 20), /more than 0\.0 GB of memory and was stopped; nothing was saved/);
  assert.ok(run.child.signalCode === 'SIGKILL', `killed, got ${run.child.signalCode}`);
  assert.deepEqual(listVersions(root), ['v0001']);
  assert.equal(readActive(root)!.version, 'v0001');
});
