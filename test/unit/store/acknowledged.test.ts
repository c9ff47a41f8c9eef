// No acknowledged write is lost: a rewrite that lost its lock before renaming gives up and keeps
// the store as it is, and a failed automatic compaction does not turn a saved change into an error.
// (The same with real processes and a long compaction: no-lost-write.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { StoreError } from '../../../src/store/errors';
import type { FsLayer } from '../../../src/store/fs-layer';
import { createLogger } from '../../../src/store/logger';
import { PreferenceStore } from '../../../src/store/store';
import { nodeFs } from '../../../src/store/fs-layer';
import { frameLine } from '../../../src/store/log';
import { session, tempDir } from './fixtures/records';

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

/** node:fs, with `onTemp` run when a rewrite creates its temp file (the rewrite is under way). */
function hookedFs(onTemp: (path: string) => void): FsLayer {
  return {
    ...nodeFs,
    openSync(path, flags, mode) {
      if (flags === 'wx' && path.includes('.jsonl.tmp-')) onTemp(path);
      return nodeFs.openSync(path, flags, mode);
    },
  };
}

/** What another process does once the lock file is gone: takes the lock and appends a record. */
function stealAndAppend(storePath: string, id: string): void {
  rmSync(`${storePath}.lock`);
  writeFileSync(`${storePath}.lock`, JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'thief', at: new Date().toISOString() }));
  appendFileSync(storePath, frameLine(session({ id })));
}

async function superseded(store: PreferenceStore): Promise<void> {
  for (let i = 0; i < 5; i++) await store.put(session({ id: 'a', context: `version ${i}` }));
}

test('a compaction whose lock was taken over mid-way gives up before its rename: the other writer\'s record stays', async (t) => {
  const dir = tempDir(t);
  let storePath = '';
  const fs = hookedFs(() => stealAndAppend(storePath, 'thief-record'));
  const store = await PreferenceStore.open(dir, { fs, logger: createLogger({ level: 'silent' }) });
  storePath = store.path;
  await superseded(store);
  await assert.rejects(store.compact(), (err: Error) =>
    err instanceof StoreError && err.code === 'locked' && /took over the store's lock while a compaction ran/.test(err.message) &&
    /no record was lost/.test(err.message));
  const reopened = await PreferenceStore.open(dir, { logger: createLogger({ level: 'silent' }) });
  assert.deepEqual((await reopened.records()).map((r) => r.id).sort(), ['a', 'thief-record']);
  // The lock is the other process's now: left alone. No temp file stays behind.
  assert.match(readdirSync(dir).join(' '), /slhf-store\.jsonl\.lock/);
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.tmp-')), []);
});

test('a delete whose lock was taken over mid-way fails cleanly, deleting nothing and losing nothing', async (t) => {
  const dir = tempDir(t);
  let storePath = '';
  const store = await PreferenceStore.open(dir, { fs: hookedFs(() => stealAndAppend(storePath, 'thief-record')), logger: createLogger({ level: 'silent' }) });
  storePath = store.path;
  await store.put(session({ id: 'a' }));
  await assert.rejects(store.delete('a'), (err: Error) => err instanceof StoreError && err.code === 'locked');
  const reopened = await PreferenceStore.open(dir, { logger: createLogger({ level: 'silent' }) });
  assert.deepEqual((await reopened.records()).map((r) => r.id).sort(), ['a', 'thief-record']);
});

test('an automatic compaction that lost its lock: the append that triggered it still succeeds, with a warning', async (t) => {
  const dir = tempDir(t);
  const warnings: string[] = [];
  let storePath = '';
  let stolen = false;
  const fs = hookedFs(() => {
    if (stolen) return;
    stolen = true;
    stealAndAppend(storePath, 'thief-record');
  });
  const store = await PreferenceStore.open(dir, { fs, compactAboveBytes: 1, logger: createLogger({ level: 'warn', sink: (_l, m) => warnings.push(m) }) });
  storePath = store.path;
  // The third version of 'a' leaves the log more than half superseded: it compacts after appending.
  for (let i = 0; i < 3; i++) await store.put(session({ id: 'a', context: `version ${i}` }));
  assert.ok(warnings.some((w) => /the change was saved, but the automatic compaction that followed failed/.test(w)), warnings.join('\n'));
  const reopened = await PreferenceStore.open(dir, { logger: createLogger({ level: 'silent' }) });
  const records = new Map((await reopened.records()).map((r) => [r.id, r]));
  assert.deepEqual([...records.keys()].sort(), ['a', 'thief-record']);
  const a = records.get('a');
  assert.equal(a?.kind === 'session' && a.context, 'version 2');
});

test('disk full during the automatic compaction after an append: the append is reported saved, with a warning', async (t) => {
  const dir = tempDir(t);
  const warnings: string[] = [];
  let full = false;
  const fs = hookedFs(() => {
    if (full) throw errno('ENOSPC');
  });
  const store = await PreferenceStore.open(dir, { fs, compactAboveBytes: 1, logger: createLogger({ level: 'warn', sink: (_l, m) => warnings.push(m) }) });
  await store.put(session({ id: 'a', context: 'version 0' }));
  full = true;
  for (let i = 1; i < 3; i++) await store.put(session({ id: 'a', context: `version ${i}` }));
  await store.put(session({ id: 'b' }));
  assert.ok(warnings.some((w) => /the change was saved, but the automatic compaction that followed failed: .*the disk is full/.test(w)), warnings.join('\n'));
  assert.ok(warnings.some((w) => /The store was left as it was: no record was lost/.test(w)), warnings.join('\n'));
  assert.ok(!warnings.some((w) => /not saved/.test(w)), warnings.join('\n'));
  const reopened = await PreferenceStore.open(dir, { logger: createLogger({ level: 'silent' }) });
  const a = await reopened.get('a');
  assert.equal(a?.kind === 'session' && a.context, 'version 2');
  assert.equal((await reopened.get('b'))?.id, 'b');
});
