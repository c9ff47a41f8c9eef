// Layer 2: the in-host tests (test/vscode/host/*.spec.ts) inside a real VS Code (code-server).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureToolchain } from '../../scripts/vscode-harness/install';
import { runHostTests } from '../../scripts/vscode-harness/hostTests';

test('code-server and Node 24 are installed in the cache', { timeout: 15 * 60_000 }, () => {
  ensureToolchain();
});

test('in-host tests pass in an untrusted workspace that tries to set model paths', { timeout: 5 * 60_000 }, async () => {
  const workspace = mkdtempSync(join(tmpdir(), 'slhf-host-workspace-'));
  try {
    mkdirSync(join(workspace, '.vscode'));
    writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'slhf.leader.model': 'workspace/untrusted-leader', 'slhf.follower.model': 'workspace/untrusted-follower', 'slhf.refine.rounds': 5 }, null, 2));
    writeFileSync(join(workspace, 'notes.md'), 'teh quick brown fox\n');
    const { exitCode, report } = await runHostTests(workspace);
    console.log(report);
    assert.equal(exitCode, 0, `in-host tests failed:\n${report}`);
    assert.match(report, /# in-host tests: \d+ passed, 0 failed/);
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
});
