// The cross-process lock: waits for a live holder, takes over a lock left by a dead one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createLogger, PreferenceStore, StoreError } from '../../../src/store';
import { nodeFs } from '../../../src/store/fsLayer';
import { FileLock } from '../../../src/store/lock';
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
  await store.put(session({ id: 'after' }));
  assert.equal((await store.get('after'))?.id, 'after');
  assert.ok(log.lines.some((l) => l.includes(`removed a stale lock`) && l.includes(`process ${pid}`)), log.lines.join('\n'));
  assert.equal(existsSync(`${store.path}.lock`), false);
  assert.equal(existsSync(`${store.path}.lock.${pid}-0123456789abcdef`), false);
});

test('a live holder makes writers wait, then fail with a message that names it', async (t) => {
  const dir = tempDir(t);
  const store = await PreferenceStore.open(dir, { logger: createLogger({ level: 'silent' }), lockTimeoutMs: 300 });
  // Our own pid: alive, so the lock is respected.
  writeFileSync(`${store.path}.lock`, JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'y', at: new Date().toISOString() }));
  await assert.rejects(store.put(session()), (err: Error) =>
    err instanceof StoreError && err.code === 'locked' &&
    err.message.includes(`${store.path}.lock is held by process ${process.pid}`) && /delete that lock file and try again/.test(err.message));
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
  const lock = new FileLock(path, { fs: nodeFs, logger: createLogger({ level: 'silent' }), timeoutMs: 500, staleMs: 60_000 });
  const release = await lock.acquire();
  assert.equal(existsSync(path), true);
  release();
  assert.equal(existsSync(path), false);
  const releaseAgain = await lock.acquire();
  // Meanwhile judged stale and taken over by someone else:
  writeFileSync(path, JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'other', at: new Date().toISOString() }));
  releaseAgain();
  assert.equal(readFileSync(path, 'utf8').includes('"other"'), true);
});
