// Import and export say what they did: importing the same TRL file twice adds nothing (the docs'
// promise: an imported pair's id is its content), and a `full` export keeps the records this version
// cannot read (written by a newer version) instead of dropping them without a word.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../../src/store/logger';
import { PreferenceStore } from '../../../src/store/store';
import { frameLine } from '../../../src/store/log';
import { cli } from './fixtures/cli';
import { session, tempDir } from './fixtures/records';

const quiet = createLogger({ level: 'silent' });

for (const format of ['trl-paired', 'trl-unpaired'] as const) {
  test(`importing the same ${format} file twice adds nothing the second time`, async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'pairs.jsonl');
    const rows = format === 'trl-paired'
      ? [{ prompt: 'p1', chosen: 'good', rejected: 'bad' }, { prompt: 'p2', chosen: 'yes', rejected: 'no' }]
      : [{ prompt: 'p1', completion: 'good', label: true }, { prompt: 'p1', completion: 'bad', label: false }];
    writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n'));
    const store = join(dir, 'store');
    const first = await cli('import', '--store', store, '--format', format, file);
    const pairs = format === 'trl-paired' ? 2 : 1;
    assert.match(first.out, new RegExp(`${pairs} records added, 0 updated, 0 already present`));
    const size = statSync(join(store, 'slhf-store.jsonl')).size;
    const second = await cli('import', '--store', store, '--format', format, file);
    assert.deepEqual([second.code, second.err], [0, '']);
    assert.match(second.out, new RegExp(`0 records added, 0 updated, ${pairs} already present`));
    assert.equal(statSync(join(store, 'slhf-store.jsonl')).size, size, 'no line appended');
  });
}

/** A store with one record of this version and one written by a newer one (schema 99). */
async function storeWithNewerRecord(dir: string): Promise<{ path: string; future: Record<string, unknown> }> {
  const path = join(dir, 'store');
  const store = await PreferenceStore.open(path, { logger: quiet });
  await store.put(session({ id: 'ours' }));
  const future = { ...session({ id: 'future' }), schemaVersion: 99, somethingNew: [1, 2] };
  appendFileSync(store.path, frameLine(future));
  return { path, future };
}

test('a full export keeps the records written by a newer version, as stored, and says so', async (t) => {
  const dir = tempDir(t);
  const { path, future } = await storeWithNewerRecord(dir);
  const out = join(dir, 'full.jsonl');
  const run = await cli('export', '--store', path, '--format', 'full', '--out', out);
  assert.equal(run.code, 0);
  assert.match(run.out, /exported 2 records \(full\)/);
  assert.match(run.err, /1 of them could not be read by this version .* exported as stored/);
  const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(rows.slice(1).map((r) => r.id), ['ours', 'future']);
  assert.deepEqual(rows[2], future);
});

test('a TRL export says how many records it could not read', async (t) => {
  const dir = tempDir(t);
  const { path } = await storeWithNewerRecord(dir);
  const run = await cli('export', '--store', path, '--format', 'trl-paired', '--out', join(dir, 'pairs.jsonl'));
  assert.equal(run.code, 0);
  assert.match(run.err, /1 record\(s\) could not be read by this version .* not in this export/);
});
