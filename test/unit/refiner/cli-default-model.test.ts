// `echo "teh cat sat on the the mat" | slhf refine` with no model given: the CLI falls back to the
// embedded default refiner (assets/default-model), says so on stderr, and fixes the sentence's errors
// (Harper's first pass as round 1, then the model's rounds; --no-harper: the model alone).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(__dirname, '..', '..', '..');

test('slhf refine without --follower fixes the typo, the capital, the doubled word and the full stop: Harper\'s round first, then the built-in model\'s', () => {
  const cache = mkdtempSync(join(tmpdir(), 'slhf-cli-default-'));
  const refine = (...flags: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(repo, 'src', 'cli.ts'), 'refine', '--cache-dir', cache, ...flags], {
    cwd: repo, input: 'teh cat sat on the the mat\n', encoding: 'utf8', timeout: 240_000,
  });
  const roundsOf = (stdout: string) => [...stdout.matchAll(/^--- (.+) ---\n([^]*?)(?=^--- |(?![^]))/gm)].map((m) => ({ header: m[1], text: m[2].trim() }));
  try {
    const run = refine();
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /built-in tiny demo model/);
    const rounds = roundsOf(run.stdout);
    // Issue 21: Harper's first pass is round 1 of its own (the typo, the capital and the doubled word);
    // the model's rounds follow and add the full stop; a second model round leaves the sentence as it is.
    assert.deepEqual(rounds[0], { header: 'round 1 (Harper)', text: 'The cat sat on the mat' });
    assert.ok(rounds.length >= 2, run.stdout);
    for (const round of rounds.slice(1)) assert.equal(round.text, 'The cat sat on the mat.');
    // Without the first pass the model makes all four fixes itself, as before.
    const alone = refine('--no-harper');
    assert.equal(alone.status, 0, alone.stderr);
    const own = roundsOf(alone.stdout);
    assert.ok(own.length >= 1 && own.every((r) => !r.header.includes('Harper')), alone.stdout);
    for (const round of own) assert.equal(round.text, 'The cat sat on the mat.');
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
