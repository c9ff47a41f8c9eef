// `echo "teh cat sat on the the mat" | slhf refine` with no model given: the CLI falls back to the
// embedded default refiner (assets/default-model), says so on stderr, and prints a corrected sentence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(__dirname, '..', '..', '..');

test('slhf refine without --follower fixes the typo, the capital and the full stop with the built-in model', () => {
  const cache = mkdtempSync(join(tmpdir(), 'slhf-cli-default-'));
  try {
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(repo, 'src', 'cli.ts'), 'refine', '--cache-dir', cache], {
      cwd: repo, input: 'teh cat sat on the the mat\n', encoding: 'utf8', timeout: 120_000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /built-in tiny demo model/);
    const rounds = run.stdout.split(/^--- .+ ---\n/m).filter(Boolean).map((r) => r.trim());
    assert.ok(rounds.length >= 1, run.stdout);
    // The typo, the capital and the final full stop are fixed; the doubled "the" survives in this
    // model (its model card lists it as a known weakness), so the test does not demand it.
    const last = rounds[rounds.length - 1];
    assert.doesNotMatch(last, /\bteh\b/);
    assert.match(last, /^The cat sat on the (the )?mat\.$/);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
