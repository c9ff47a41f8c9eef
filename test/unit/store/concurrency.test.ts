// Two processes (two VS Code windows) write to one store at the same time: every record of both
// arrives intact, none interleaved or lost, even while they also compact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../../src/store/logger';
import { PreferenceStore } from '../../../src/store/store';
import { parseLine } from '../../../src/store/log';
import { bundleChild } from './fixtures/bundle';
import { session, tempDir } from './fixtures/records';

const PER_PROCESS = 150;

function writer(child: string, store: string, prefix: string): Promise<{ code: number | null; stderr: string; acked: number }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, store, 'write', prefix, String(PER_PROCESS)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    proc.stdout.on('data', (c) => (out += c));
    proc.stderr.on('data', (c) => (stderr += c));
    proc.on('error', reject);
    proc.on('close', (code) => resolve({ code, stderr, acked: out.split('\n').length - 2 }));
  });
}

test(`two processes write ${PER_PROCESS} records each at once: all ${2 * PER_PROCESS} present and intact`, async (t) => {
  const dir = tempDir(t);
  const child = bundleChild(dir);
  const storePath = join(dir, 'shared');
  const results = await Promise.all([writer(child, storePath, 'left'), writer(child, storePath, 'right')]);
  for (const r of results) assert.deepEqual([r.code, r.stderr, r.acked], [0, '', PER_PROCESS]);

  const store = await PreferenceStore.open(storePath, { logger: createLogger({ level: 'silent' }) });
  assert.deepEqual(store.warnings, []);
  const records = new Map((await store.records()).map((r) => [r.id, r]));
  assert.equal(records.size, 2 * PER_PROCESS);
  for (const prefix of ['left', 'right']) {
    for (let i = 0; i < PER_PROCESS; i++) {
      const id = `${prefix}-${i}`;
      assert.deepEqual(records.get(id), session({ id, context: `context of ${id} `.repeat(1 + (i % 7)) }), id);
    }
  }
  // Every line on disk is whole: no interleaved bytes from the two writers.
  const lines = readFileSync(store.path).toString('utf8').split('\n').filter(Boolean);
  for (const line of lines) assert.ok('value' in parseLine(Buffer.from(line)), 'a damaged line on disk');
});
