// A full disk, a read-only file system and missing permissions: clear messages naming the path and
// what to do, and nothing already stored lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from '../../../src/store/errors';
import type { FsLayer } from '../../../src/store/fs-layer';
import { createLogger } from '../../../src/store/logger';
import { PreferenceStore } from '../../../src/store/store';
import { nodeFs } from '../../../src/store/fs-layer';
import { bundleChild } from './fixtures/bundle';
import { session, tempDir } from './fixtures/records';

const quiet = createLogger({ level: 'silent' });

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

/** node:fs, except that while `failing` is set, writes to matching paths write half and then fail. */
function flakyFs(code: string, match: (path: string) => boolean): { fs: FsLayer; state: { failing: boolean } } {
  const state = { failing: false };
  const paths = new Map<number, string>();
  const fs: FsLayer = {
    ...nodeFs,
    openSync(path, flags, mode) {
      const fd = nodeFs.openSync(path, flags, mode);
      paths.set(fd, path);
      return fd;
    },
    writeSync(fd, buffer, offset, length, position) {
      if (!state.failing || !match(paths.get(fd) ?? '')) return nodeFs.writeSync(fd, buffer, offset, length, position);
      // Like a real full disk: part of the data gets out before the error.
      if (length > 1) return nodeFs.writeSync(fd, buffer, offset, Math.floor(length / 2), position);
      throw errno(code);
    },
  };
  return { fs, state };
}

test('disk full during an append: clear error, earlier records intact, the file cut back', async (t) => {
  const dir = tempDir(t);
  const { fs, state } = flakyFs('ENOSPC', (p) => p.endsWith('.jsonl'));
  const store = await PreferenceStore.open(dir, { fs, logger: quiet });
  for (const id of ['a', 'b', 'c']) await store.put(session({ id }));
  const before = readFileSync(store.path);
  state.failing = true;
  await assert.rejects(store.put(session({ id: 'd' })), (err: Error) => {
    assert.ok(err instanceof StoreError);
    assert.equal(err.code, 'disk-full');
    assert.ok(err.message.includes(store.path), err.message);
    assert.match(err.message, /the disk is full \(ENOSPC\)\. Free some disk space and try again\. Records already stored are safe; this change was not saved\./);
    return true;
  });
  assert.deepEqual(readFileSync(store.path), before);
  const reopened = await PreferenceStore.open(dir, { logger: quiet });
  assert.deepEqual((await reopened.records()).map((r) => r.id), ['a', 'b', 'c']);
  assert.deepEqual(reopened.warnings, []);
  state.failing = false;
  await store.put(session({ id: 'd' }));
  assert.deepEqual((await reopened.records()).map((r) => r.id), ['a', 'b', 'c', 'd']);
});

test('disk full during compaction or delete: the old file stays as it was, no temp file left', async (t) => {
  const dir = tempDir(t);
  const { fs, state } = flakyFs('ENOSPC', (p) => p.includes('.tmp-'));
  const store = await PreferenceStore.open(dir, { fs, logger: quiet });
  for (const id of ['a', 'b', 'a']) await store.put(session({ id }));
  const before = readFileSync(store.path);
  state.failing = true;
  await assert.rejects(store.compact(), (err: Error) => err instanceof StoreError && err.code === 'disk-full' && err.message.includes('rewrite the store file'));
  await assert.rejects(store.delete('a'), (err: Error) => err instanceof StoreError && err.code === 'disk-full');
  assert.deepEqual(readFileSync(store.path), before);
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.tmp-')), []);
  assert.deepEqual((await store.records()).map((r) => r.id), ['b', 'a']);
});

test('a read-only file system: a message that says so and names the path', async (t) => {
  const dir = tempDir(t);
  const writer = await PreferenceStore.open(dir, { logger: quiet });
  await writer.put(session({ id: 'kept' }));
  const fs: FsLayer = {
    ...nodeFs,
    openSync: (path, flags, mode) => (flags === 'r' ? nodeFs.openSync(path, flags, mode) : (() => { throw errno('EROFS'); })()),
    writeFileSync: () => {
      throw errno('EROFS');
    },
  };
  const store = await PreferenceStore.open(dir, { fs, logger: quiet });
  assert.deepEqual((await store.records()).map((r) => r.id), ['kept']);
  await assert.rejects(store.put(session({ id: 'new' })), (err: Error) =>
    err instanceof StoreError && err.code === 'read-only' && err.message.includes(dir) &&
    /the file system is read-only \(EROFS\)\. Choose a store location on a writable disk/.test(err.message));
});

test('a folder the user may not write: reads work, writes fail with a permission message', async (t) => {
  const dir = tempDir(t);
  chmodSync(dir, 0o755);
  const storeDir = join(dir, 'store');
  const store = await PreferenceStore.open(storeDir, { logger: quiet });
  for (const id of ['a', 'b']) await store.put(session({ id }));
  const before = readFileSync(store.path);
  chmodSync(store.path, 0o444);
  chmodSync(storeDir, 0o555);
  try {
    // Root ignores permission bits, so as root the probe runs as the unprivileged user nobody.
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const child = bundleChild(dir);
    chmodSync(child, 0o644);
    const run = spawnSync(process.execPath, [child, storeDir, 'probe', 'new'], { encoding: 'utf8', ...asUser });
    assert.equal(run.stderr, '');
    const result = JSON.parse(run.stdout);
    assert.equal(result.count, 2);
    assert.equal(result.error.code, 'permission');
    assert.ok(result.error.message.includes(storeDir), result.error.message);
    assert.match(result.error.message, /permission denied \(EACCES\)\. Make the folder and file writable by your user, or choose another store location/);
  } finally {
    chmodSync(storeDir, 0o755);
  }
  assert.deepEqual(readFileSync(store.path), before);
});
