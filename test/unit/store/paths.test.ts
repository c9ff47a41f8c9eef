// Store paths that are not what they should be get a clear message naming the path and what is
// wrong, never a raw EISDIR or RangeError: a folder where the store file, the export file or the
// import file should be, and a file too large to be a store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from './fixtures/cli';
import { tempDir } from './fixtures/records';

test('a folder where a file should be: the store file, an export\'s --out, an import file', async (t) => {
  const dir = tempDir(t);
  const store = join(dir, 'store');
  mkdirSync(join(store, 'slhf-store.jsonl'), { recursive: true });
  const folder = join(dir, 'folder');
  mkdirSync(folder);
  const cases: [string[], string][] = [
    [['store-stats', '--store', store], `Could not read the store file ${join(store, 'slhf-store.jsonl')}: it is a folder, not a file (EISDIR).`],
    [['import', '--store', join(dir, 'other'), '--format', 'trl-paired', folder], `Could not read line 1 of the import file ${folder}: it is a folder, not a file (EISDIR).`],
    [['export', '--store', join(dir, 'other'), '--format', 'full', '--out', folder], `Could not write the export file ${folder}: it is a folder, not a file (EISDIR).`],
  ];
  for (const [argv, message] of cases) {
    const run = await cli(...argv);
    assert.equal(run.code, 1, argv.join(' '));
    assert.ok(run.err.includes(message), run.err);
    assert.doesNotMatch(run.err, /illegal operation/);
  }
});

test('a store file too large to read: its size and the limit, not a RangeError', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'huge.jsonl');
  // Sparse: 5 GiB that take no disk space.
  const fd = openSync(path, 'w');
  ftruncateSync(fd, 5 * 2 ** 30);
  closeSync(fd);
  const run = await cli('store-stats', '--store', path);
  assert.equal(run.code, 1);
  assert.ok(run.err.includes(`Could not read the store file ${path}: it is 5.0 GiB, more than a store can be read in one piece (4.0 GiB)`), run.err);
  assert.doesNotMatch(run.err, /out of range|RangeError/);
});
