// The History tab's summary: a search that finds nothing says so (it said "No refinements recorded yet").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { historySummary } from '../../../webview/historyText';

test('no match is not "nothing recorded"; counts and pages are stated', () => {
  assert.equal(historySummary(0, 0, { text: 'quick', filter: null }), 'No match for "quick".');
  assert.equal(historySummary(0, 0, { text: '', filter: 'Rejected' }), 'No match for decision: Rejected.');
  assert.equal(historySummary(0, 0, { text: 'fox', filter: 'Rejected' }), 'No match for "fox", decision: Rejected.');
  assert.match(historySummary(0, 0, { text: '', filter: null }), /^No refinements recorded yet/);
  assert.equal(historySummary(120, 100, { text: '', filter: null }), '120 refinement(s), showing the newest 100.');
  assert.equal(historySummary(1, 1, { text: 'x', filter: null }), '1 refinement(s).');
});
