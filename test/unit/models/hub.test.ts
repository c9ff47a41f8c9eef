import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downloadModel, HubError, parseRepoId, defaultCacheDir, type DownloadProgress } from '../../../src/models/hub';
import { openCheckpoint } from '../../../src/models/checkpoint';
import { makeTinyModel } from '../../../src/models/tiny-models/tiny-model';
import { writeSafetensors } from '../../../src/models/safetensors-writer';
import { COMMIT, FakeHub } from './hub-server';
import { startProxy } from '../base/proxy-server';

let hub: FakeHub;
let root: string;
let modelFiles: Map<string, Buffer>;
const isSafetensors = (f: string) => f.endsWith('.safetensors');

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'slhf-hub-'));
  const model = await makeTinyModel({ arch: 'qwen2', tokenizer: 'bytes', out: join(root, 'src'), seed: 3 });
  modelFiles = new Map(readdirSync(model.dir).map((f) => [f, readFileSync(join(model.dir, f))]));
  hub = await new FakeHub().start();
  hub.repos.set('org/tiny', { files: modelFiles, lfs: isSafetensors });
});

after(async () => {
  await hub.stop();
  rmSync(root, { recursive: true, force: true });
});

let cacheCount = 0;
function freshCache(): string {
  return join(root, `cache-${cacheCount++}`);
}

function options(cacheDir: string, extra: Record<string, unknown> = {}) {
  return { cacheDir, env: { HF_ENDPOINT: hub.hubUrl }, idleTimeoutMs: 5000, ...extra };
}

function rejectsWith(code: string, message: RegExp) {
  return (err: unknown) => err instanceof HubError && err.code === code && message.test(err.message);
}

test('downloads config, tokenizer files and weights into the hub cache layout, with progress', async () => {
  const cacheDir = freshCache();
  const progress: DownloadProgress[] = [];
  hub.log.length = 0;
  const dir = await downloadModel('org/tiny', options(cacheDir, { onProgress: (p: DownloadProgress) => progress.push(p) }));
  assert.equal(dir, join(cacheDir, 'models--org--tiny', 'snapshots', COMMIT));
  assert.equal(readFileSync(join(cacheDir, 'models--org--tiny', 'refs', 'main'), 'utf8'), COMMIT);
  for (const [name, bytes] of modelFiles) assert.deepEqual(readFileSync(join(dir, name)), bytes, name);
  const checkpoint = await openCheckpoint(dir);
  assert.equal(checkpoint.config.modelType, 'qwen2');
  await checkpoint.close();
  const weights = progress.filter((p) => p.file === 'model.safetensors');
  assert.ok(weights.length >= 1);
  assert.equal(weights.at(-1)?.downloaded, modelFiles.get('model.safetensors')?.length);
  assert.equal(weights.at(-1)?.total, modelFiles.get('model.safetensors')?.length);
  // Only the files a model needs were asked for; no partial files remain.
  assert.ok(!hub.log.some((r) => r.path.endsWith('.bin')));
  assert.deepEqual(readdirSync(join(cacheDir, 'models--org--tiny', 'blobs')), []);

  // A second run finds everything in the commit's snapshot: no GETs.
  hub.log.length = 0;
  assert.equal(await downloadModel('org/tiny', options(cacheDir)), dir);
  assert.deepEqual(hub.log.filter((r) => r.method === 'GET'), []);
});

test('a connection dropped mid-file resumes with a Range request', async () => {
  const cacheDir = freshCache();
  const size = modelFiles.get('model.safetensors')!.length;
  hub.faults.dropAfter.set('model.safetensors', 5000);
  hub.log.length = 0;
  const onProgress = (p: DownloadProgress) => p.file === 'model.safetensors' && p.downloaded >= 5000 && hub.releaseDrop();
  const dir = await downloadModel('org/tiny', options(cacheDir, { onProgress }));
  assert.deepEqual(readFileSync(join(dir, 'model.safetensors')), modelFiles.get('model.safetensors'));
  const cdnGets = hub.log.filter((r) => r.server === 'cdn' && r.method === 'GET');
  assert.equal(cdnGets.length, 2);
  assert.equal(cdnGets[0].range, null);
  assert.equal(cdnGets[1].range, 'bytes=5000-');
  assert.ok(size > 5000);
});

test('a stalled transfer is abandoned after the idle timeout and resumed', async () => {
  hub.faults.dropAfter.set('model.safetensors', 3000); // never released: the server goes silent
  hub.log.length = 0;
  const dir = await downloadModel('org/tiny', options(freshCache(), { idleTimeoutMs: 1000 }));
  assert.deepEqual(readFileSync(join(dir, 'model.safetensors')), modelFiles.get('model.safetensors'));
  assert.deepEqual(hub.log.filter((r) => r.server === 'cdn' && r.method === 'GET').map((r) => r.range), [null, 'bytes=3000-']);
});

test('a renamed repo is followed through the hub\'s relative redirect', async () => {
  hub.renamed.set('old/tiny', 'org/tiny');
  const dir = await downloadModel('old/tiny', options(freshCache()));
  assert.deepEqual(readFileSync(join(dir, 'config.json')), modelFiles.get('config.json'));
});

test('a partial file left by an earlier run is resumed, not restarted', async () => {
  const cacheDir = freshCache();
  const weights = modelFiles.get('model.safetensors')!;
  const blobs = join(cacheDir, 'models--org--tiny', 'blobs');
  mkdirSync(blobs, { recursive: true });
  const sha = createHash('sha256').update(weights).digest('hex');
  writeFileSync(join(blobs, `${sha}.incomplete`), weights.subarray(0, 1234));
  hub.log.length = 0;
  const dir = await downloadModel('org/tiny', options(cacheDir));
  assert.deepEqual(readFileSync(join(dir, 'model.safetensors')), weights);
  assert.deepEqual(hub.log.filter((r) => r.server === 'cdn' && r.method === 'GET').map((r) => r.range), ['bytes=1234-']);
});

test('sha256 and git-sha1 mismatches are detected and the bad download is discarded', async () => {
  const cacheDir = freshCache();
  const weights = modelFiles.get('model.safetensors')!;
  const tampered = Buffer.from(weights);
  tampered[tampered.length - 1] ^= 0xff;
  hub.faults.corrupt.set('model.safetensors', tampered);
  try {
    await assert.rejects(downloadModel('org/tiny', options(cacheDir)), rejectsWith('integrity', /model\.safetensors: download corrupted \(sha256 [0-9a-f]{64}, expected/));
  } finally {
    hub.faults.corrupt.clear();
  }
  const snapshot = join(cacheDir, 'models--org--tiny', 'snapshots', COMMIT);
  assert.equal(existsSync(join(snapshot, 'model.safetensors')), false);
  assert.deepEqual(readdirSync(join(cacheDir, 'models--org--tiny', 'blobs')), []);

  hub.faults.wrongEtag.set('config.json', 'f'.repeat(40));
  try {
    await assert.rejects(downloadModel('org/tiny', options(freshCache())), rejectsWith('integrity', /config\.json: download corrupted \(git sha1/));
  } finally {
    hub.faults.wrongEtag.clear();
  }
});

test('sharded checkpoints download every shard named by the index', async () => {
  const dir = join(root, 'sharded-src');
  mkdirSync(dir);
  await writeSafetensors(join(dir, 'a.safetensors'), [{ name: 'x', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }]);
  await writeSafetensors(join(dir, 'b.safetensors'), [{ name: 'y', dtype: 'F32', shape: [1], data: new Float32Array([3]) }]);
  const files = new Map([
    ['config.json', modelFiles.get('config.json')!],
    ['model.safetensors.index.json', Buffer.from(JSON.stringify({ weight_map: { x: 'a.safetensors', y: 'b.safetensors' } }))],
    ['a.safetensors', readFileSync(join(dir, 'a.safetensors'))],
    ['b.safetensors', readFileSync(join(dir, 'b.safetensors'))],
  ]);
  hub.repos.set('org/sharded', { files, lfs: isSafetensors });
  const snapshot = await downloadModel('org/sharded', options(freshCache()));
  assert.deepEqual(readdirSync(snapshot).sort(), ['a.safetensors', 'b.safetensors', 'config.json', 'model.safetensors.index.json']);

  files.set('model.safetensors.index.json', Buffer.from(JSON.stringify({ weight_map: { x: '../../evil.safetensors' } })));
  await assert.rejects(downloadModel('org/sharded', options(freshCache())), rejectsWith('integrity', /unexpected shard name "\.\.\/\.\.\/evil\.safetensors"/));
});

test('404s: a missing repo fails, missing optional files are skipped, pickle-only repos are refused', async () => {
  await assert.rejects(downloadModel('org/missing', options(freshCache())), rejectsWith('not-found', /org\/missing\/resolve\/main\/config\.json: not found \(404, RepoNotFound\)/));
  await assert.rejects(downloadModel('org/tiny@v9', options(freshCache())), rejectsWith('not-found', /RevisionNotFound/));
  hub.repos.set('org/pickled', { files: new Map([['config.json', modelFiles.get('config.json')!], ['pytorch_model.bin', Buffer.from('pickle')]]), lfs: () => false });
  hub.log.length = 0;
  await assert.rejects(downloadModel('org/pickled', options(freshCache())), rejectsWith('no-safetensors', /no safetensors weights.*can run arbitrary code/));
  assert.ok(!hub.log.some((r) => r.path.includes('pytorch_model.bin')));
});

test('private repos: 401 without a token, HF_TOKEN sent as Bearer to the hub but never to the CDN', async () => {
  hub.repos.set('org/private', { files: modelFiles, lfs: isSafetensors, token: 'hf_secret' });
  await assert.rejects(downloadModel('org/private', options(freshCache())), rejectsWith('unauthorized', /401 Unauthorized.*Set HF_TOKEN/));
  await assert.rejects(
    downloadModel('org/private', { ...options(freshCache()), env: { HF_ENDPOINT: hub.hubUrl, HF_TOKEN: 'hf_wrong' } }),
    rejectsWith('unauthorized', /rejected HF_TOKEN/),
  );
  hub.log.length = 0;
  const dir = await downloadModel('org/private', { ...options(freshCache()), env: { HF_ENDPOINT: hub.hubUrl, HF_TOKEN: 'hf_secret' } });
  assert.ok(existsSync(join(dir, 'model.safetensors')));
  assert.ok(hub.log.filter((r) => r.server === 'hub').every((r) => r.authorization === 'Bearer hf_secret'));
  const cdn = hub.log.filter((r) => r.server === 'cdn');
  assert.ok(cdn.length > 0);
  assert.ok(cdn.every((r) => r.authorization === null), 'the token must not leak to another origin');
});

test('downloads go through HTTP_PROXY, metadata and files alike, with the proxy credentials', async () => {
  const proxy = await startProxy();
  try {
    const dir = await downloadModel('org/tiny', { ...options(freshCache()), env: { HF_ENDPOINT: hub.hubUrl, HTTP_PROXY: proxy.url } });
    assert.ok(readFileSync(join(dir, 'model.safetensors')).equals(modelFiles.get('model.safetensors')!));
    const credentials = `Basic ${Buffer.from('user:p@ss').toString('base64')}`;
    assert.ok(proxy.seen.length > 0 && proxy.seen.every((line) => line.endsWith(credentials)), proxy.seen.join('\n'));
    assert.ok(proxy.seen.some((line) => line.startsWith(`HEAD ${hub.hubUrl}/org/tiny/resolve/main/config.json`)), proxy.seen.join('\n'));
    assert.ok(proxy.seen.some((line) => line.startsWith('GET ') && line.includes('safetensors')), proxy.seen.join('\n'));
  } finally {
    proxy.server.close();
  }
});

test('offline mode reads the cache only and names what is missing', async () => {
  const cacheDir = freshCache();
  const dir = await downloadModel('org/tiny', options(cacheDir));
  hub.log.length = 0;
  assert.equal(await downloadModel('org/tiny', { cacheDir, env: { HF_HUB_OFFLINE: '1', HF_ENDPOINT: 'http://127.0.0.1:9' } }), dir);
  assert.equal(await downloadModel(`org/tiny@${COMMIT}`, { cacheDir, offline: true }), dir);
  assert.deepEqual(hub.log, []);
  // Online but unreachable: the complete cached copy is used; without one, the network error stands.
  const unreachable = { cacheDir, env: { HF_ENDPOINT: 'http://127.0.0.1:9' } };
  assert.equal(await downloadModel('org/tiny', unreachable), dir);
  await assert.rejects(downloadModel('org/other', unreachable), rejectsWith('network', /127\.0\.0\.1:9\/org\/other\/resolve\/main\/config\.json/));
  await assert.rejects(downloadModel('org/other', { cacheDir, offline: true }), rejectsWith('offline-missing', /org\/other@main \(the revision\) is not in the cache/));
  rmSync(join(dir, 'model.safetensors'));
  await assert.rejects(downloadModel('org/tiny', { cacheDir, offline: true }), rejectsWith('offline-missing', /weights \(model\.safetensors or model\.safetensors\.index\.json\) is not in the cache/));
});

test('repo ids and cache locations', () => {
  assert.deepEqual(parseRepoId('Qwen/Qwen2.5-0.5B-Instruct'), { repoId: 'Qwen/Qwen2.5-0.5B-Instruct', revision: null });
  assert.deepEqual(parseRepoId('org/name@v1.0'), { repoId: 'org/name', revision: 'v1.0' });
  for (const bad of ['noslash', '../etc/passwd', 'a/b/c', 'org/name@', '/abs/path']) assert.throws(() => parseRepoId(bad), /not a hub model id/, bad);
  assert.equal(defaultCacheDir({ HF_HUB_CACHE: '/x/hub' }), '/x/hub');
  assert.equal(defaultCacheDir({ HF_HOME: '/h' }), join('/h', 'hub'));
});
