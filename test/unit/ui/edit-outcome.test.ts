// The decision recorded for what the user did to an accepted refinement.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decisionAfterEdits } from '../../../src/ui/editOutcome';

const now = new Date('2026-01-02T03:04:05.000Z');
const base = { round: 1, accepted: 'The quick fox.', original: 'teh quick fox', span: { start: 0, end: 14, touched: true } };

test('an untouched or restored acceptance stands as it is', () => {
  assert.equal(decisionAfterEdits({ ...base, span: { ...base.span, touched: false }, current: base.accepted }, now), undefined);
  assert.equal(decisionAfterEdits({ ...base, current: base.accepted }, now), undefined, 'edited and typed back');
});

test('an edited acceptance records the final text against the accepted round', () => {
  assert.deepEqual(decisionAfterEdits({ ...base, current: 'The quick brown fox.' }, now), {
    kind: 'accepted-edited', round: 1, finalText: 'The quick brown fox.', decidedAt: now.toISOString(),
  });
});

test('going back to the original text (undo) records a rejection', () => {
  assert.deepEqual(decisionAfterEdits({ ...base, current: base.original }, now), { kind: 'rejected', decidedAt: now.toISOString() });
});
