// The decisions recorded for what the user did to an accepted refinement: an undo is an explicit
// change of decision the moment it happens, a redo restores the acceptance, edits are read at the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptanceState, acceptedDecision, decisionAfterEdits, decisionOnChange, type EditedAcceptance } from '../../../src/ui/edit-outcome';

const now = new Date('2026-01-02T03:04:05.000Z');
const acceptedAt = '2026-01-02T03:00:00.000Z';
const base = { round: 1, accepted: 'The quick fox.', original: 'teh quick fox', span: { start: 0, end: 14, touched: true }, acceptedAt };
const untouched: EditedAcceptance = { ...base, span: { ...base.span, touched: false }, current: base.accepted };
const undone: EditedAcceptance = { ...base, current: base.original };
const edited: EditedAcceptance = { ...base, current: 'The quick brown fox.' };

test('the span reads as a standing, undone or edited acceptance', () => {
  assert.equal(acceptanceState(untouched), 'stands');
  assert.equal(acceptanceState({ ...base, current: base.accepted }), 'stands', 'edited and typed back');
  assert.equal(acceptanceState(undone), 'undone');
  assert.equal(acceptanceState(edited), 'edited');
});

const undoneDecision = { kind: 'undone', round: 1, acceptedAt, decidedAt: now.toISOString() };

test('an undo right after Accept is recorded at once as an explicit change of decision (the original text kept)', () => {
  assert.deepEqual(decisionOnChange(undone, 'stands', now), { decision: undoneDecision, recorded: 'undone' });
  assert.equal(decisionOnChange(undone, 'undone', now), undefined, 'recorded once, not on every change');
});

test('a redo after the undo restores the acceptance at once, with its original time', () => {
  assert.deepEqual(decisionOnChange({ ...base, current: base.accepted }, 'undone', now), {
    decision: { kind: 'accepted', round: 1, decidedAt: acceptedAt }, recorded: 'stands',
  });
});

test('edits in progress record nothing until the watch ends', () => {
  assert.equal(decisionOnChange(edited, 'stands', now), undefined);
  assert.equal(decisionOnChange(edited, 'undone', now), undefined, 'typing in the restored original keeps the undo');
  assert.equal(decisionOnChange(untouched, 'stands', now), undefined);
});

test('when the watch ends, an untouched or restored acceptance stands as it is', () => {
  assert.equal(decisionAfterEdits(untouched, 'stands', now), undefined);
  assert.equal(decisionAfterEdits({ ...base, current: base.accepted }, 'stands', now), undefined, 'edited and typed back');
});

test('when the watch ends, an edited acceptance records the final text against the accepted round', () => {
  assert.deepEqual(decisionAfterEdits(edited, 'stands', now), { kind: 'accepted-edited', round: 1, finalText: 'The quick brown fox.', decidedAt: now.toISOString() });
});

test('when the watch ends, an undo already recorded is not written again, and later typing does not turn it into an edit', () => {
  assert.equal(decisionAfterEdits(undone, 'undone', now), undefined);
  assert.equal(decisionAfterEdits(edited, 'undone', now), undefined);
  // A change the watcher never saw (no event) still ends as an undo.
  assert.deepEqual(decisionAfterEdits(undone, 'stands', now), undoneDecision);
});

test('Accept of the round as it was records accepted; Accept of an edited proposal or of some hunks records accepted-edited with the applied text', () => {
  assert.deepEqual(acceptedDecision({ round: 1, accepted: 'The quick fox.', acceptedAt }), { kind: 'accepted', round: 1, decidedAt: acceptedAt });
  assert.deepEqual(acceptedDecision({ round: 1, accepted: 'The quick fox.', roundText: 'The quick fox.', acceptedAt }), { kind: 'accepted', round: 1, decidedAt: acceptedAt });
  assert.deepEqual(acceptedDecision({ round: 1, accepted: 'The quick fox', roundText: 'The quick fox.', acceptedAt }), { kind: 'accepted-edited', round: 1, finalText: 'The quick fox', decidedAt: acceptedAt });
});

test('a redo after undoing an edited acceptance restores the accepted-edited decision, not a plain acceptance', () => {
  const partial: EditedAcceptance = { ...base, accepted: 'The quick fox', roundText: 'The quick fox.', current: 'The quick fox' };
  assert.deepEqual(decisionOnChange(partial, 'undone', now), {
    decision: { kind: 'accepted-edited', round: 1, finalText: 'The quick fox', decidedAt: acceptedAt }, recorded: 'stands',
  });
  assert.equal(decisionAfterEdits(partial, 'stands', now), undefined, 'untouched since Accept: the recorded accepted-edited stands');
});
