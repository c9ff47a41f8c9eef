// The cross-process lock: waits for a live holder, takes over a lock left by a dead one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StoreError } from '../../../src/store/errors';
import { createLogger } from '../../../src/store/logger';
import { PreferenceStore } from '../../../src/store/store';
import { nodeFs } from '../../../src/store/fs-layer';
import { storeLock } from '../../../src/store/lock';
import { session, tempDir } from './fixtures/records';

function deadPid(): number {
  const run = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(run.stdout.trim());
}

function warnings(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  return { lines, logger: createLogger({ level: 'warn', sink: (_l, m) => lines.push(m) }) };
}

test('a lock left by a dead process is taken over, with a warning', async (t) => {
  const dir = tempDir(t);
  const log = warnings();
  const store = await PreferenceStore.open(dir, { logger: log.logger, lockTimeoutMs: 2000 });
  const pid = deadPid();
  writeFileSync(`${store.path}.lock`, JSON.stringify({ pid, host: hostname(), nonce: 'x', at: new Date().toISOString() }));
  writeFileSync(`${store.path}.lock.${pid}-0123456789abcdef`, 'orphan of a killed writer');
  // Such files live for microseconds; only older ones are taken for orphans.
  const old = new Date(Date.now() - 10_000);
  utimesSync(`${store.path}.lock.${pid}-0123456789abcdef`, old, old);
  await store.put(session({ id: 'after' }));
  assert.equal((await store.get('after'))?.id, 'after');
  assert.ok(log.lines.some((l) => l.includes(`removed a stale lock`) && l.includes(`process ${pid}`)), log.lines.join('\n'));
  assert.equal(existsSync(`${store.path}.lock`), false);
  assert.equal(existsSync(`${store.path}.lock.${pid}-0123456789abcdef`), false);
});

test('a live holder makes writers wait, then fail with a message that names it and never advises deleting the lock', async (t) => {
  const dir = tempDir(t);
  const store = await PreferenceStore.open(dir, { logger: createLogger({ level: 'silent' }), lockTimeoutMs: 300 });
  // Our own pid: alive, so the lock is respected.
  writeFileSync(`${store.path}.lock`, JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'y', at: new Date().toISOString() }));
  await assert.rejects(store.put(session()), (err: Error) =>
    err instanceof StoreError && err.code === 'locked' &&
    err.message.includes(`${store.path}.lock is held by process ${process.pid}`) && !/delete/.test(err.message) &&
    /This change was not saved/.test(err.message));
  assert.equal(await store.get('s1'), undefined);
});

test('a lock from another host is stale only once it is older than staleLockMs', async (t) => {
  const dir = tempDir(t);
  const store = await PreferenceStore.open(dir, { logger: createLogger({ level: 'silent' }), lockTimeoutMs: 200, staleLockMs: 60_000 });
  const lock = `${store.path}.lock`;
  writeFileSync(lock, JSON.stringify({ pid: 1, host: 'elsewhere', nonce: 'z', at: new Date().toISOString() }));
  await assert.rejects(store.put(session()), /held by process 1 on elsewhere/);
  const old = new Date(Date.now() - 120_000);
  utimesSync(lock, old, old);
  await store.put(session());
  assert.equal((await store.get('s1'))?.id, 's1');
});

test('a release removes only its own lock, never one another process took over', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'x.lock');
  const lock = storeLock(path, { fs: nodeFs, logger: createLogger({ level: 'silent' }), timeoutMs: 500, staleMs: 60_000 });
  const held = await lock.acquire();
  assert.equal(existsSync(path), true);
  held.release();
  assert.equal(existsSync(path), false);
  const heldAgain = await lock.acquire();
  // Meanwhile judged stale and taken over by someone else:
  writeFileSync(path, JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'other', at: new Date().toISOString() }));
  assert.equal(heldAgain.owned(), false);
  heldAgain.release();
  assert.equal(readFileSync(path, 'utf8').includes('"other"'), true);
});

test('private lock files leaked by killed writers are removed by the next write, without a stale lock', async (t) => {
  const dir = tempDir(t);
  const store = await PreferenceStore.open(dir, { logger: createLogger({ level: 'silent' }) });
  const pid = deadPid();
  const leaked = [`${store.path}.lock.${pid}-0123456789abcdef`, `${store.path}.lock.break.${pid}-fedcba9876543210`];
  const old = new Date(Date.now() - 10_000);
  for (const path of leaked) {
    writeFileSync(path, JSON.stringify({ pid, host: hostname(), nonce: 'n' }));
    utimesSync(path, old, old);
  }
  await store.put(session());
  assert.deepEqual(readdirSync(dir).sort(), ['slhf-store.jsonl']);
});

test("a writer keeps waiting while the holder's heartbeat advances, past its timeout", async (t) => {
  const dir = tempDir(t);
  const store = await PreferenceStore.open(dir, { logger: createLogger({ level: 'silent' }), lockTimeoutMs: 600 });
  const lock = `${store.path}.lock`;
  // A live holder (this process) in a long rewrite: it refreshes the lock's mtime, then finishes.
  writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'busy', at: new Date().toISOString() }));
  let beats = 0;
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimesSync(lock, now, now);
    if (++beats === 40) {
      clearInterval(heartbeat);
      rmSync(lock);
    }
  }, 50);
  t.after(() => clearInterval(heartbeat));
  await store.put(session());
  assert.equal(beats, 40, 'the write went through only once the holder was done');
  assert.equal((await store.get('s1'))?.id, 's1');
});
