// The store's behaviour through its public API: writes, reads across instances, deletion that
// really removes text from disk, compaction, and logs that never contain user text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from '../../../src/store/errors';
import type { FsLayer } from '../../../src/store/fs-layer';
import { createLogger, type Logger } from '../../../src/store/logger';
import { PreferenceStore, STORE_FILE_NAME } from '../../../src/store/store';
import { nodeFs } from '../../../src/store/fs-layer';
import { frameLine } from '../../../src/store/log';
import { round, session, tempDir } from './fixtures/records';

const quiet = { logger: createLogger({ level: 'silent' }) };

function capture(level: 'info' | 'debug' = 'info'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { lines, logger: createLogger({ level, sink: (lvl, message) => lines.push(`${lvl} ${message}`) }) };
}

test('a session is created, refined and decided, and reads back the same after reopening', async (t) => {
  const dir = tempDir(t);
  let clock = Date.parse('2026-03-05T09:00:00.000Z');
  const store = await PreferenceStore.open(dir, { ...quiet, now: () => new Date((clock += 1000)) });
  assert.equal(store.path, join(dir, STORE_FILE_NAME));
  const { id } = await store.createSession({ workspace: 'w', languageId: 'markdown', preset: 'p', context: 'c', instruction: 'i', draft: { text: 'd', source: 'user' } });
  await store.addRound(id, round('r0'));
  await store.addRound(id, round('r1'));
  const decided = await store.decide(id, { kind: 'accepted', round: 1, decidedAt: '2026-03-05T09:01:00.000Z' });
  assert.deepEqual(decided.rounds.map((r) => r.text), ['r0', 'r1']);
  assert.equal(decided.createdAt, '2026-03-05T09:00:01.000Z');
  assert.equal(decided.updatedAt, '2026-03-05T09:00:04.000Z');
  const reopened = await PreferenceStore.open(dir, quiet);
  assert.deepEqual(await reopened.get(id), decided);
  assert.equal((await reopened.records()).length, 1);
  await assert.rejects(store.decide(id, { kind: 'accepted', round: 5, decidedAt: '2026-03-05T09:01:00.000Z' }), /decision\.round is 5 but the session has 2 rounds/);
  await assert.rejects(store.addRound('nope', round('x')), (err: Error) => err instanceof StoreError && err.code === 'not-found');
});

test('another instance (another window) sees new writes and rewrites on refresh', async (t) => {
  const dir = tempDir(t);
  const a = await PreferenceStore.open(dir, quiet);
  const b = await PreferenceStore.open(dir, quiet);
  await a.put(session({ id: 'one' }));
  assert.equal((await b.get('one'))?.id, 'one');
  await b.put(session({ id: 'two' }));
  await a.delete('one');
  assert.deepEqual((await b.records()).map((r) => r.id), ['two']);
  assert.deepEqual((await a.records()).map((r) => r.id), ['two']);
});

test('concurrent writes from two instances in one process are all kept', async (t) => {
  const dir = tempDir(t);
  const [a, b] = await Promise.all([PreferenceStore.open(dir, quiet), PreferenceStore.open(dir, quiet)]);
  await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).put(session({ id: `r${i}` }))));
  await Promise.all([a.compact(), b.put(session({ id: 'late' }))]);
  const fresh = await PreferenceStore.open(dir, quiet);
  assert.equal((await fresh.records()).length, 41);
  assert.deepEqual(fresh.warnings, []);
});

test('delete and deleteAll remove the texts from the disk, not just from the index', async (t) => {
  const dir = tempDir(t);
  const store = await PreferenceStore.open(dir, quiet);
  await store.put(session({ id: 'keep', context: 'KEEP-ME' }));
  await store.put(session({ id: 'gone', context: 'SECRET-CONTEXT' }));
  await store.put(session({ id: 'gone', context: 'SECRET-CONTEXT v2' }));
  assert.equal(await store.delete('gone'), true);
  assert.equal(await store.delete('gone'), false);
  const file = readFileSync(store.path, 'utf8');
  assert.ok(!file.includes('SECRET-CONTEXT'));
  assert.ok(file.includes('KEEP-ME'));
  appendFileSync(store.path, 'garbage with SECRET-CONTEXT\n');
  await store.compact();
  assert.equal(await store.deleteAll(), 1);
  assert.deepEqual(readdirSync(dir).filter((n) => !n.endsWith('.lock')), [STORE_FILE_NAME]);
  assert.equal(readFileSync(store.path, 'utf8'), '');
  assert.deepEqual(await (await PreferenceStore.open(dir, quiet)).records(), []);
});

test('compaction keeps the latest version of each record and lines it cannot read', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'store.jsonl');
  const future = { ...session({ id: 'from-the-future' }), schemaVersion: 9, newField: 1 };
  writeFileSync(file, Buffer.concat([frameLine(session({ id: 'x', preset: 'old' })), frameLine(future), frameLine(session({ id: 'x', preset: 'new' }))]));
  const log = capture();
  const store = await PreferenceStore.open(file, { logger: log.logger });
  assert.equal(store.warnings.length, 1);
  assert.equal(store.warnings[0].line, 2);
  assert.match(store.warnings[0].message, /unreadable record, skipped and kept on disk: .*newer SLHF Refine \(schema 9/);
  assert.match(log.lines[0], /^warn .*store\.jsonl line 2 \(byte \d+\): unreadable record/);
  await store.compact();
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l.slice(9)));
  assert.deepEqual(lines.map((r) => [r.id, r.schemaVersion]), [['from-the-future', 9], ['x', 3]]);
  assert.equal(lines[1].preset, 'new');
});

test('the log compacts itself once most of it is superseded', async (t) => {
  const dir = tempDir(t);
  const store = await PreferenceStore.open(dir, { ...quiet, compactAboveBytes: 20_000 });
  for (let i = 0; i < 60; i++) await store.put(session({ id: `s${i % 3}`, preset: `v${i}` }));
  const lines = readFileSync(store.path, 'utf8').trim().split('\n');
  assert.ok(lines.length < 30, `${lines.length} lines: no compaction happened`);
  assert.deepEqual((await store.records()).map((r) => [r.id, (r as { preset: string }).preset]).sort(), [['s0', 'v57'], ['s1', 'v58'], ['s2', 'v59']]);
});

test('an invalid record is refused before anything is written', async (t) => {
  const dir = tempDir(t);
  const store = await PreferenceStore.open(dir, quiet);
  await assert.rejects(store.put(session({ rounds: [round('a', { logprobs: [Number.NaN] })] })), (err: Error) =>
    err instanceof StoreError && err.code === 'invalid' && /rounds\[0\]\.logprobs\[0\]/.test(err.message));
  assert.deepEqual(readdirSync(dir), []);
});

test('no user text reaches the log at the default level, even when reporting damage', async (t) => {
  const dir = tempDir(t);
  const secret = 'PRIVATE-7f3a';
  const record = session({ id: 'p', context: secret, instruction: secret, draft: { text: secret, source: 'user' }, rounds: [round(secret)], decision: { kind: 'rejected', decidedAt: '2026-03-01T10:00:05.000Z' } });
  const log = capture();
  const store = await PreferenceStore.open(dir, { logger: log.logger });
  await store.put(record);
  await store.put(session({ id: 'q', context: secret }));
  // Damage a line that holds the secret, leave a torn tail, and read it all back.
  const bytes = readFileSync(store.path);
  bytes[20] ^= 0x01;
  writeFileSync(store.path, Buffer.concat([bytes, Buffer.from(`abcdef01 {"context":"${secret}`)]));
  const reopened = await PreferenceStore.open(dir, { logger: log.logger });
  await reopened.put(session({ id: 'r' }));
  await reopened.compact();
  await reopened.stats();
  await reopened.list({ text: secret });
  assert.ok(log.lines.length >= 3, `expected warnings, got ${log.lines.join('\n')}`);
  assert.deepEqual(log.lines.filter((l) => l.includes(secret)), []);
});

test('a rewrite is noticed even when the new file reuses the old inode number', async (t) => {
  const dir = tempDir(t);
  // File systems recycle inode numbers; this layer makes every file look like the same inode.
  const fs: FsLayer = { ...nodeFs, fstatSync: (fd) => Object.assign(nodeFs.fstatSync(fd), { ino: 1 }) };
  const a = await PreferenceStore.open(dir, { ...quiet, fs });
  const b = await PreferenceStore.open(dir, { ...quiet, fs });
  for (const id of ['one', 'two', 'three']) await a.put(session({ id, context: id.repeat(50) }));
  assert.equal((await b.records()).length, 3);
  await a.delete('one');
  for (const id of ['four', 'five']) await a.put(session({ id }));
  assert.deepEqual((await b.records()).map((r) => r.id), ['two', 'three', 'four', 'five']);
  assert.deepEqual(b.warnings, []);
});

test('an intact last record without its newline counts, and the next append starts a new line', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 's.jsonl');
  const last = frameLine(session({ id: 'b' }));
  writeFileSync(file, Buffer.concat([frameLine(session({ id: 'a' })), last.subarray(0, last.length - 1)]));
  const store = await PreferenceStore.open(file, quiet);
  assert.deepEqual((await store.records()).map((r) => r.id), ['a', 'b']);
  assert.deepEqual(store.warnings, []);
  await store.put(session({ id: 'c' }));
  const reopened = await PreferenceStore.open(file, quiet);
  assert.deepEqual((await reopened.records()).map((r) => r.id), ['a', 'b', 'c']);
  assert.deepEqual(reopened.warnings, []);
});
