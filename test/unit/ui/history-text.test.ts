// The History tab's summary: a search that finds nothing says so (it said "No refinements recorded yet").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { historyRounds, historySummary } from '../../../webview/history-text';

test('no match is not "nothing recorded"; counts and pages are stated', () => {
  assert.equal(historySummary(0, 0, { text: 'quick', filter: null }), 'No match for "quick".');
  assert.equal(historySummary(0, 0, { text: '', filter: 'Rejected' }), 'No match for decision: Rejected.');
  assert.equal(historySummary(0, 0, { text: 'fox', filter: 'Rejected' }), 'No match for "fox", decision: Rejected.');
  assert.match(historySummary(0, 0, { text: '', filter: null }), /^No refinements recorded yet/);
  assert.equal(historySummary(120, 100, { text: '', filter: null }), '120 refinement(s), showing the newest 100.');
  assert.equal(historySummary(1, 1, { text: 'x', filter: null }), '1 refinement(s).');
});

// The review lists identical rounds once ("Rounds 2-3 of 3 (identical)"); the History tab listed each.
test('identical rounds in a row are one entry in the History tab, as in the review', () => {
  const rounds = historyRounds({ rounds: ['a', 'b', 'b'], round: 2, decision: 'accepted' });
  assert.deepEqual(rounds, [
    { label: 'Round 1 of 3', text: 'a', chosen: false },
    { label: 'Rounds 2-3 of 3 (identical) (chosen)', text: 'b', chosen: true },
  ]);
  assert.deepEqual(historyRounds({ rounds: ['a', 'b', 'a'], decision: 'pending' }).map((r) => r.label), ['Round 1 of 3', 'Round 2 of 3', 'Round 3 of 3']);
  assert.equal(historyRounds({ rounds: ['a', 'a'], round: 0, decision: 'undone' })[0].label, 'Rounds 1-2 of 2 (identical) (accepted, then undone)');
});
