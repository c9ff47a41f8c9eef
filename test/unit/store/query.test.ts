// Paged lists, filters and statistics for the panel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeStats, decidedSince, listSessions } from '../../../src/store/query';
import type { StoreRecord } from '../../../src/store/schema';
import { round, session } from './fixtures/records';

const at = (day: number, hour = 10) => `2026-03-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00.000Z`;

const records: StoreRecord[] = [
  session({ id: 'a', createdAt: at(1), languageId: 'markdown', workspace: 'w1', decision: { kind: 'accepted', round: 0, decidedAt: at(1) } }),
  session({ id: 'b', createdAt: at(2), languageId: 'python', workspace: 'w1', context: 'def Kettle(): pass', decision: { kind: 'rejected', decidedAt: at(2) } }),
  session({ id: 'c', createdAt: at(2, 12), languageId: 'markdown', workspace: 'w2', rounds: [round('x', { adapterVersion: null }), round('y', { adapterVersion: 'a2' })], decision: { kind: 'accepted-edited', round: 1, finalText: 'The KETTLE sings', decidedAt: at(3) } }),
  session({ id: 'd', createdAt: at(4), languageId: 'markdown', workspace: 'w2', decision: { kind: 'pending' } }),
  session({ id: 'e', createdAt: at(3), languageId: 'markdown', workspace: 'w1', rounds: [round('p', { adapterVersion: null })], decision: { kind: 'rejected', decidedAt: at(3) } }),
  { kind: 'imported-pair', schemaVersion: 3, id: 'imp', workspace: 'imported', importedAt: at(5), source: 'f', prompt: 'q', chosen: 'c', rejected: 'r' },
];

test('lists sessions newest first, paged, with the total before paging', () => {
  assert.deepEqual(listSessions(records).items.map((r) => r.id), ['d', 'e', 'c', 'b', 'a']);
  const page = listSessions(records, { offset: 1, limit: 2 });
  assert.deepEqual(page.items.map((r) => r.id), ['e', 'c']);
  assert.equal(page.total, 5);
  assert.deepEqual(listSessions(records, { offset: 10 }).items, []);
});

test('filters by decision, language, workspace and text, combined', () => {
  const ids = (q: Parameters<typeof listSessions>[1]) => listSessions(records, q).items.map((r) => r.id);
  assert.deepEqual(ids({ decision: 'rejected' }), ['e', 'b']);
  assert.deepEqual(ids({ decision: ['accepted', 'accepted-edited'] }), ['c', 'a']);
  assert.deepEqual(ids({ languageId: 'python' }), ['b']);
  assert.deepEqual(ids({ workspace: 'w2' }), ['d', 'c']);
  // Case-insensitive, over what the History shows (the edited final text included), not the hidden context (b's).
  assert.deepEqual(ids({ text: 'kettle' }), ['c']);
  assert.deepEqual(ids({ text: 'kettle', workspace: 'w1' }), []);
  assert.deepEqual(ids({ text: 'no such words' }), []);
});

test('stats: acceptance overall, per day of decision, per Follower version, usable pairs', () => {
  const s = computeStats(records);
  assert.equal(s.sessions, 5);
  assert.equal(s.importedPairs, 1);
  assert.deepEqual(s.byDecision, { pending: 1, accepted: 1, 'accepted-edited': 1, rejected: 2, undone: 0 });
  assert.deepEqual(s.acceptance, { key: 'all', decided: 4, accepted: 2, rate: 0.5 });
  assert.deepEqual(s.perDay, [
    { key: '2026-03-01', decided: 1, accepted: 1, rate: 1 },
    { key: '2026-03-02', decided: 1, accepted: 0, rate: 0 },
    { key: '2026-03-03', decided: 2, accepted: 1, rate: 0.5 },
  ]);
  assert.deepEqual(s.perFollowerVersion, [
    { key: 'follower-0.5b@a1', decided: 2, accepted: 1, rate: 0.5 },
    { key: 'follower-0.5b@a2', decided: 1, accepted: 1, rate: 1 },
    { key: 'follower-0.5b@base', decided: 1, accepted: 0, rate: 0 },
  ]);
  // a: 2 pairs, b: 2, c: 2 + final, e: 1, imported: 1.
  assert.deepEqual(s.pairs, { total: 9, withBehaviourLogprobs: 8, withoutBehaviourLogprobs: 1, imported: 1 });
});

test('decidedSince: decisions after a version was made (Train waits for one); pending sessions and imported pairs never count', () => {
  assert.equal(decidedSince(records, null), 4);
  assert.equal(decidedSince(records, at(2, 11)), 2);
  assert.equal(decidedSince(records, at(3)), 0, 'a decision at the very time of the version is not new');
});
