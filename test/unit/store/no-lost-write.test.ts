// No acknowledged write lost, with real processes: a long compaction runs while other processes
// write; its lock is kept alive by the heartbeat, or stolen mid-way (the lock file deleted, as the
// old "busy" message advised). Every record a writer reported saved is in the store afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../../src/store/logger';
import { PreferenceStore } from '../../../src/store/store';
import { bundleChild } from './fixtures/bundle';
import { session, tempDir } from './fixtures/records';

interface Child {
  /** Resolves when the child printed `line`. */
  printed(line: string): Promise<void>;
  done: Promise<{ code: number | null; lines: string[]; stderr: string }>;
}

function start(child: string, args: string[], env: Record<string, string>): Child {
  const proc = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let stderr = '';
  const waiting: { line: string; resolve: () => void }[] = [];
  const lines = () => out.split('\n').slice(0, -1);
  proc.stdout.on('data', (chunk) => {
    out += chunk;
    for (const w of waiting.splice(0)) (lines().includes(w.line) ? w.resolve : () => waiting.push(w))();
  });
  proc.stderr.on('data', (chunk) => (stderr += chunk));
  const done = new Promise<{ code: number | null; lines: string[]; stderr: string }>((resolve, reject) => {
    proc.on('error', reject);
    proc.on('close', (code) => resolve({ code, lines: lines(), stderr }));
  });
  return {
    printed: (line) => new Promise<void>((resolve, reject) => {
      if (lines().includes(line)) resolve();
      else waiting.push({ line, resolve });
      void done.then(() => (lines().includes(line) ? resolve() : reject(new Error(`child ended without printing ${line}: ${out}${stderr}`))));
    }),
    done,
  };
}

const BIG = 'x'.repeat(2500);
const RECORDS = 400;

/** A store of RECORDS sessions, each written twice: compaction has ~1 MiB to write. */
async function bigStore(dir: string): Promise<string> {
  const store = await PreferenceStore.open(join(dir, 'shared'), { logger: createLogger({ level: 'silent' }), compactAboveBytes: Infinity });
  for (const round of [1, 2]) {
    await store.putMany(Array.from({ length: RECORDS }, (_, i) => session({ id: `old-${i}`, context: `${round} ${BIG}` })));
  }
  return store.path;
}

/** Runs `writers` writer processes to the end; returns every id they acknowledged. */
async function write(child: string, storePath: string, prefixes: string[], env: Record<string, string>): Promise<string[]> {
  const results = await Promise.all(prefixes.map((p) => start(child, [storePath, 'write', p, '20'], env).done));
  for (const r of results) assert.equal(r.stderr, '');
  return results.flatMap((r) => r.lines.filter((l) => l !== 'ready'));
}

async function assertAllPresent(storePath: string, acked: string[]): Promise<void> {
  const store = await PreferenceStore.open(storePath, { logger: createLogger({ level: 'silent' }) });
  const ids = new Set((await store.records()).map((r) => r.id));
  const missing = [...acked, ...Array.from({ length: RECORDS }, (_, i) => `old-${i}`)].filter((id) => !ids.has(id));
  assert.deepEqual(missing, [], `${missing.length} acknowledged record(s) lost`);
}

test('a long compaction keeps its lock by heartbeat while writers with a short stale limit wait: every acknowledged record stays', async (t) => {
  const dir = tempDir(t);
  const child = bundleChild(dir, 'rewrite-child.ts');
  const storePath = await bigStore(dir);
  // The compaction takes ~1 s or more; a lock without a heartbeat would be stale after 250 ms, and
  // writers give up after 400 ms without seeing one.
  const env = { SLHF_TEST_STALE_MS: '250', SLHF_TEST_TIMEOUT_MS: '400' };
  const compactor = start(child, [storePath, 'compact', '-', '30'], env);
  await compactor.printed('rewriting');
  const acked = await write(child, storePath, ['w1', 'w2'], env);
  const compacted = await compactor.done;
  assert.equal(compacted.stderr, '');
  // "done" normally; "error locked" only if this machine paused the compactor past 250 ms, and
  // then it gave up without renaming. Either way nothing acknowledged may be missing.
  assert.match(compacted.lines.at(-1) ?? '', /^(done|error locked)$/);
  t.diagnostic(`compactor: ${compacted.lines.at(-1)}`);
  assert.equal(acked.length, 40);
  await assertAllPresent(storePath, acked);
});

test('a compaction whose lock is stolen mid-way (lock file deleted) while two writers write: it gives up, every acknowledged record stays', async (t) => {
  const dir = tempDir(t);
  const child = bundleChild(dir, 'rewrite-child.ts');
  const storePath = await bigStore(dir);
  const go = join(dir, 'go');
  const compactor = start(child, [storePath, 'compact', go, '0'], {});
  await compactor.printed('rewriting');
  rmSync(`${storePath}.lock`);
  const acked = await write(child, storePath, ['w1', 'w2'], {});
  writeFileSync(go, '');
  const compacted = await compactor.done;
  assert.equal(acked.length, 40);
  await assertAllPresent(storePath, acked);
  assert.deepEqual([compacted.stderr, compacted.lines.at(-1)], ['', 'error locked']);
  // The store still opens with each record's latest version.
  const store = await PreferenceStore.open(storePath, { logger: createLogger({ level: 'silent' }) });
  const first = await store.get('old-0');
  assert.equal(first?.kind === 'session' && first.context, `2 ${BIG}`);
});
