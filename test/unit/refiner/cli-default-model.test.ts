// `echo "teh cat sat on the the mat" | slhf refine` with no model given: the CLI falls back to the
// embedded default refiner (assets/default-model), says so on stderr, and fixes the sentence's errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(__dirname, '..', '..', '..');

test('slhf refine without --follower fixes the typo, the capital, the doubled word and the full stop with the built-in model', () => {
  const cache = mkdtempSync(join(tmpdir(), 'slhf-cli-default-'));
  try {
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(repo, 'src', 'cli.ts'), 'refine', '--cache-dir', cache], {
      cwd: repo, input: 'teh cat sat on the the mat\n', encoding: 'utf8', timeout: 120_000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /built-in tiny demo model/);
    const rounds = run.stdout.split(/^--- .+ ---\n/m).filter(Boolean).map((r) => r.trim());
    assert.ok(rounds.length >= 1, run.stdout);
    // Four fixes in one sentence: the typo, the capital, the doubled "the" and the full stop; a
    // second round leaves the corrected sentence as it is.
    for (const round of rounds) assert.equal(round, 'The cat sat on the mat.');
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
