// Layer 2: the in-host tests (test/vscode/host/*.spec.ts) inside a real VS Code (code-server).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureToolchain } from '../../scripts/vscode-harness/install';
import { runHostTests } from '../../scripts/vscode-harness/host-tests';
import { makeFixtureModel } from '../../scripts/vscode-harness/fixtures';

test('code-server and Node 24 are installed in the cache', { timeout: 15 * 60_000 }, async () => {
  await ensureToolchain();
});

test('in-host tests pass in an untrusted workspace that tries to set model paths', { timeout: 14 * 60_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'slhf-host-'));
  const workspace = join(root, 'workspace');
  try {
    const model = makeFixtureModel(join(root, 'tiny-follower'));
    mkdirSync(join(workspace, '.vscode'), { recursive: true });
    writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'slhf.leader.model': 'workspace/untrusted-leader', 'slhf.follower.model': 'workspace/untrusted-follower', 'slhf.refine.rounds': 3 }, null, 2));
    writeFileSync(join(workspace, 'notes.md'), 'teh quick brown fox\n');
    // The Follower comes from the user settings, which an untrusted workspace cannot override.
    const machineSettings = { 'slhf.follower.model': model, 'slhf.modelCacheDir': join(root, 'model-cache') };
    const { exitCode, report } = await runHostTests(workspace, { timeoutMs: 13 * 60_000, machineSettings, userSettings: { 'slhf.refine.maxNewTokens': 12, 'slhf.review.confirmFlagged': false } });
    console.log(report);
    assert.equal(exitCode, 0, `in-host tests failed:\n${report}`);
    assert.match(report, /# in-host tests: \d+ passed, 0 failed/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
