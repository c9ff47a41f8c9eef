// kill -9 at random points of appends, replacements and compactions: no acknowledged record is ever
// lost and the store opens every time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../../src/store/logger';
import { PreferenceStore } from '../../../src/store/store';
import { bundleChild } from './fixtures/bundle';
import { seededRandom } from '../../../src/base/seeded-random';
import { tempDir } from './fixtures/records';

const ITERATIONS = 200;

/**
 * Starts the looping writer and kills it `delayMs` after it acknowledged `afterAcks` records, so
 * kills land inside writes however loaded the machine is. Returns the acknowledged ids.
 */
function runAndKill(child: string, store: string, prefix: string, afterAcks: number, delayMs: number): Promise<{ acked: string[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, store, 'loop', prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    proc.stdout.on('data', (chunk) => {
      out += chunk;
      if (!timer && out.startsWith('ready\n') && out.split('\n').length - 2 >= afterAcks) {
        timer = setTimeout(() => proc.kill('SIGKILL'), delayMs);
      }
    });
    proc.stderr.on('data', (chunk) => (stderr += chunk));
    proc.on('error', reject);
    proc.on('close', () => {
      clearTimeout(timer);
      // Only whole lines count: an id is printed after its record was fsynced.
      const lines = out.split('\n').slice(1, -1);
      resolve({ acked: lines, stderr });
    });
  });
}

// Two lanes kill their own writer over the same store: 200 kills in all, in about half the wall
// time on two cores, and every kill may also leave the lock to a live writer that has to break it.
const LANES = 2;

test(`kill -9 during writes, ${ITERATIONS} times: no acknowledged record is lost`, async (t) => {
  const dir = tempDir(t);
  const child = bundleChild(dir);
  const storePath = join(dir, 'store');
  const acked = new Set<string>();
  let killedWithWork = 0;
  const lane = async (laneNo: number) => {
    const random = seededRandom(20260301 + laneNo);
    for (let i = laneNo; i < ITERATIONS; i += LANES) {
      const afterAcks = Math.floor(random() * 8);
      const delay = random() * 4;
      const run = await runAndKill(child, storePath, `it${i}`, afterAcks, delay);
      assert.equal(run.stderr, '', `iteration ${i}: the writer failed: ${run.stderr}`);
      if (run.acked.length > 0) killedWithWork++;
      for (const id of run.acked) acked.add(id);
      const expected = [...acked];
      const store = await PreferenceStore.open(storePath, { logger: createLogger({ level: 'silent' }) });
      const present = new Set((await store.records()).map((r) => r.id));
      const missing = expected.filter((id) => !present.has(id));
      assert.deepEqual(missing, [], `iteration ${i} (killed ${delay.toFixed(1)} ms after ${afterAcks} acks): acknowledged records lost`);
      // The only damage a kill can leave is one unfinished last line.
      for (const w of store.warnings) assert.match(w.message, /incomplete record at the end of the file/);
    }
  };
  await Promise.all(Array.from({ length: LANES }, (_, n) => lane(n)));
  // Killed writers leave no litter beyond the lock of the last one (removed by the next writer).
  const litter = readdirSync(join(storePath)).filter((n) => !/^slhf-store\.jsonl(\.lock|\.corrupt)?$/.test(n));
  assert.ok(litter.length <= 2, `leftover files: ${litter.join(', ')}`);
  // The test means something only if kills landed while the writers were busy.
  assert.ok(killedWithWork > ITERATIONS / 2, `only ${killedWithWork} of ${ITERATIONS} runs wrote anything before the kill`);
  assert.ok(acked.size > ITERATIONS, `only ${acked.size} records acknowledged`);
});
