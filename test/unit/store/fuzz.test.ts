// Random damage to a store file: truncation, bit flips, inserted garbage, an empty file, and mixes.
// The store must open without throwing, report each damaged line once with a clear warning, return
// every intact record unchanged, and keep working (append, compact) afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../../src/store/logger';
import type { StoreRecord } from '../../../src/store/schema';
import { PreferenceStore } from '../../../src/store/store';
import { frameLine } from '../../../src/store/log';
import { seededRandom } from '../../../src/base/seeded-random';
import { round, session, tempDir } from './fixtures/records';

const TRIALS = 150;
const quiet = { logger: createLogger({ level: 'silent' }) };

function originalRecords(): StoreRecord[] {
  return Array.from({ length: 24 }, (_, i) =>
    session({ id: `rec-${i}`, context: `Kontext ${i} — ünïcødé ✓ `.repeat(1 + (i % 5)), rounds: [round(`r ${i}`), round(`s ${i} 🍵`)] }));
}

type Damage = (bytes: Buffer, random: () => number) => Buffer;

const damages: Record<string, Damage> = {
  truncate: (b, random) => b.subarray(0, Math.floor(random() * b.length)),
  bitFlips: (b, random) => {
    const out = Buffer.from(b);
    const flips = 1 + Math.floor(random() * 6);
    for (let i = 0; i < flips; i++) out[Math.floor(random() * out.length)] ^= 1 << Math.floor(random() * 8);
    return out;
  },
  garbageLines: (b, random) => {
    const at = b.indexOf(0x0a, Math.floor(random() * b.length)) + 1;
    const kinds = [
      Buffer.from('{"kind":"session","id":"no-checksum"}\n'),
      Buffer.from('deadbeef {"id":"wrong-checksum","schemaVersion":2}\n'),
      Buffer.from(Array.from({ length: 1 + Math.floor(random() * 200) }, () => Math.floor(random() * 256))),
      Buffer.from('\n\n\0\0\0\n'),
    ];
    return Buffer.concat([b.subarray(0, at), kinds[Math.floor(random() * kinds.length)], b.subarray(at)]);
  },
  zeroLength: () => Buffer.alloc(0),
};
const names = Object.keys(damages);

/** Lines of the original that survive byte for byte as whole lines of the damaged file. */
function intactIds(damaged: Buffer, lines: Buffer[], records: StoreRecord[]): string[] {
  const text = Buffer.concat([Buffer.from('\n'), damaged]);
  return records.filter((_, i) => text.includes(Buffer.concat([Buffer.from('\n'), lines[i]]))).map((r) => r.id);
}

/** Non-empty pieces of the damaged file that are not original lines: each must be reported once. */
function damagedPieces(damaged: Buffer, lines: Buffer[]): number {
  const originals = new Set(lines.map((l) => l.subarray(0, l.length - 1).toString('latin1')));
  const pieces = damaged.toString('latin1').split('\n');
  return pieces.filter((p) => p !== '' && !originals.has(p)).length;
}

test(`${TRIALS} random corruptions: no crash, clear warnings, every intact record readable`, async (t) => {
  const dir = tempDir(t);
  const records = originalRecords();
  const lines = records.map(frameLine);
  const original = Buffer.concat(lines);
  const byId = new Map(records.map((r) => [r.id, r]));
  const seen = new Set<string>();
  for (let trial = 0; trial < TRIALS; trial++) {
    const random = seededRandom(1000 + trial);
    const kinds = [names[trial % names.length], ...(random() < 0.3 ? [names[Math.floor(random() * names.length)]] : [])];
    kinds.forEach((k) => seen.add(k));
    let damaged: Buffer = original;
    for (const k of kinds) damaged = damages[k](damaged, random);
    const file = join(dir, `trial-${trial}.jsonl`);
    writeFileSync(file, damaged);
    const label = `trial ${trial} (${kinds.join('+')})`;

    const store = await PreferenceStore.open(file, quiet);
    const read = await store.records();
    for (const r of read) assert.deepEqual(r, byId.get(r.id), `${label}: a damaged record was returned`);
    const readIds = new Set(read.map((r) => r.id));
    const intact = intactIds(damaged, lines, records);
    assert.deepEqual(intact.filter((id) => !readIds.has(id)), [], `${label}: intact records not readable`);
    assert.equal(store.warnings.length, damagedPieces(damaged, lines), `${label}: warnings ${JSON.stringify(store.warnings)}`);
    for (const w of store.warnings) {
      assert.ok(w.line >= 1 && w.offset >= 0 && w.offset <= damaged.length, `${label}: warning without a position`);
      assert.match(w.message, /^(checksum mismatch \(the bytes were damaged\)|not a store record \(no checksum prefix\)|incomplete record at the end of the file \(an interrupted write\)); skipped \(\d+ bytes\)$/);
    }

    // Still writable: the new record lands on its own line, after which compaction cleans up.
    await store.put(session({ id: 'after-damage' }));
    const again = await PreferenceStore.open(file, quiet);
    const afterIds = new Set((await again.records()).map((r) => r.id));
    assert.ok(afterIds.has('after-damage') && [...readIds].every((id) => afterIds.has(id)), `${label}: records lost by the append`);
    await again.compact();
    const compacted = await PreferenceStore.open(file, quiet);
    assert.deepEqual(compacted.warnings, [], `${label}: damage left after compaction`);
    assert.deepEqual(new Set((await compacted.records()).map((r) => r.id)), afterIds, `${label}: compaction changed the records`);
    if (store.warnings.length > 0) assert.ok(readFileSync(`${file}.corrupt`).length > 0, `${label}: damaged bytes were not kept aside`);
  }
  assert.deepEqual([...seen].sort(), [...names].sort());
});
