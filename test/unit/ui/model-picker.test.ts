// The model picker's pure parts (issue 19): where a model setting's value comes from and where the
// picker writes so that it applies, the Models tab's line, and the download with progress, Cancel
// (partial file kept, resumed) and success against a local stand-in for the hub.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel } from '../../../src/models/tiny-models/tiny-model';
import { describeSource, settingInForce, writeScope } from '../../../src/ui/model-picker-scope';
import { downloadRecommended, progressReporter } from '../../../src/ui/model-picker-download';
import { settingsText } from '../../../webview/settings-text';
import { FakeHub } from '../models/hub-server';

const trusted = { trusted: true };

test('the value in force comes from the most specific scope that sets it; untrusted, only from the user settings', () => {
  assert.deepEqual(settingInForce(undefined, '', trusted), { value: '', source: 'default' });
  assert.deepEqual(settingInForce({ globalValue: 'a/b' }, '', trusted), { value: 'a/b', source: 'user' });
  assert.deepEqual(settingInForce({ globalValue: 'a/b', workspaceValue: 'c/d' }, '', trusted), { value: 'c/d', source: 'workspace' });
  assert.deepEqual(settingInForce({ globalValue: 'a/b', workspaceValue: 'c/d', workspaceFolderValue: '/m' }, '', trusted), { value: '/m', source: 'folder' });
  // An empty string set in the workspace is a value: it shadows the user's model.
  assert.deepEqual(settingInForce({ globalValue: 'a/b', workspaceValue: '' }, 'x', trusted), { value: '', source: 'workspace' });
  assert.deepEqual(settingInForce({ globalValue: 'a/b', workspaceValue: 'c/d' }, '', { trusted: false }), { value: 'a/b', source: 'user' });
  assert.deepEqual(settingInForce({ workspaceValue: 'c/d' }, '', { trusted: false }), { value: '', source: 'default' });
});

test('the picker writes where the value in force comes from (a write below it would be shadowed), else to the user settings', () => {
  assert.equal(writeScope(undefined, trusted), 'user');
  assert.equal(writeScope({ globalValue: 'a/b' }, trusted), 'user');
  assert.equal(writeScope({ globalValue: 'a/b', workspaceValue: 'c/d' }, trusted), 'workspace');
  assert.equal(writeScope({ workspaceFolderValue: '/m' }, trusted), 'folder');
  // Untrusted, a workspace value does not apply: the user settings do.
  assert.equal(writeScope({ workspaceValue: 'c/d' }, { trusted: false }), 'user');
  assert.match(describeSource('user'), /remote window/);
});

test('the Models tab names the model in force and where it comes from', () => {
  const base = { leaderModel: '', leaderSource: 'default', device: 'auto' } as const;
  assert.equal(settingsText({ ...base, followerModel: '', followerSource: 'default' }),
    'Settings in force: Follower the built-in tiny demo model (the default); Leader the Follower\'s base model (slhf.leader.model is empty); device auto.');
  assert.match(settingsText({ ...base, followerModel: 'Qwen/Qwen2.5-0.5B-Instruct', followerSource: 'workspace' }), /Follower Qwen\/Qwen2\.5-0\.5B-Instruct \(from the workspace settings\)/);
  assert.match(settingsText({ ...base, followerModel: '', followerSource: 'folder' }), /built-in tiny demo model \(empty in the folder settings\)/);
  assert.match(settingsText({ followerModel: '', followerSource: 'default', leaderModel: '/m', leaderSource: 'user', device: 'cpu' }), /Follower \/m \(the Leader's: slhf\.follower\.model is empty\); Leader \/m \(from the user settings\)/);
});

test('progress says the percentage and the megabytes, and the bar follows the weights only', () => {
  const reports: { message?: string; increment?: number }[] = [];
  const report = progressReporter({ report: (u) => reports.push(u) });
  report({ file: 'config.json', downloaded: 600, total: 600 });
  report({ file: 'model.safetensors', downloaded: 0, total: 4 * 2 ** 20 });
  report({ file: 'model.safetensors', downloaded: 2 ** 20, total: 4 * 2 ** 20 });
  report({ file: 'model.safetensors', downloaded: 2 ** 20 + 1, total: 4 * 2 ** 20 }); // no visible change: not sent
  report({ file: 'model.safetensors', downloaded: 4 * 2 ** 20, total: 4 * 2 ** 20 });
  assert.deepEqual(reports.map((r) => r.message), [
    'config.json: 100% (0.0 of 0.0 MB)', 'model.safetensors: 0% (0.0 of 4.0 MB)', 'model.safetensors: 25% (1.0 of 4.0 MB)', 'model.safetensors: 100% (4.0 of 4.0 MB)',
  ]);
  assert.deepEqual(reports.map((r) => r.increment), [0, 0, 25, 75]);
});

let hub: FakeHub;
let root: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'slhf-picker-'));
  const model = await makeTinyModel({ arch: 'qwen2', tokenizer: 'bytes', out: join(root, 'src'), seed: 5 });
  hub = await new FakeHub().start();
  hub.repos.set('Qwen/Qwen2.5-0.5B-Instruct', { files: new Map(readdirSync(model.dir).map((f) => [f, readFileSync(join(model.dir, f))])), lfs: (f) => f.endsWith('.safetensors') });
});

after(async () => {
  await hub.stop();
  rmSync(root, { recursive: true, force: true });
});

test('a download cancelled midway says so and what it kept; the next one resumes and succeeds', { timeout: 30_000 }, async () => {
  const hubOptions = { cacheDir: join(root, 'cache'), env: { HF_ENDPOINT: hub.hubUrl }, idleTimeoutMs: 10_000 };
  // The weights stall after 4,000 bytes (the connection stays open): Cancel is the only way out.
  hub.faults.dropAfter.set('model.safetensors', 4000);
  const abort = new AbortController();
  const messages: string[] = [];
  const cancelled = await downloadRecommended('Qwen/Qwen2.5-0.5B-Instruct', {
    signal: abort.signal,
    report: (u) => {
      if (u.message) messages.push(u.message);
      if (u.message?.startsWith('model.safetensors: ') && !u.message.includes(' 0%')) abort.abort();
    },
  }, hubOptions);
  assert.equal(cancelled.kind, 'cancelled');
  assert.match(cancelled.message, /cancelled; the Follower model is unchanged\. The 0\.0 MB received so far are kept; downloading it again resumes from there\./);
  hub.releaseDrop();
  hub.log.length = 0;
  const done = await downloadRecommended('Qwen/Qwen2.5-0.5B-Instruct', { signal: new AbortController().signal, report: (u) => u.message && messages.push(u.message) }, hubOptions);
  assert.equal(done.kind, 'downloaded', done.message);
  assert.ok(done.kind === 'downloaded' && readdirSync(done.folder).includes('model.safetensors'));
  assert.ok(hub.log.some((r) => r.server === 'cdn' && r.method === 'GET' && r.range === 'bytes=4000-'), 'the second download resumed from the kept bytes');
  assert.ok(messages.some((m) => /^model\.safetensors: 100% \(/.test(m)));
});

test('a failed download says why and that nothing changed', async () => {
  const outcome = await downloadRecommended('Qwen/Qwen2.5-1.5B-Instruct', { signal: new AbortController().signal, report: () => undefined }, { cacheDir: join(root, 'cache'), env: { HF_ENDPOINT: hub.hubUrl } });
  assert.equal(outcome.kind, 'failed');
  assert.match(outcome.message, /^Could not download Qwen\/Qwen2\.5-1\.5B-Instruct: .*The Follower model is unchanged\.$/);
});
