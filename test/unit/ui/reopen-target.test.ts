// History's Review… of an undecided session applies in place only where the refined text is
// unambiguous: exactly one open document holding it exactly once (issue 19).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueOccurrence } from '../../../src/ui/reopen-target';

test('the refined text is found in place only when it occurs exactly once among the open documents', () => {
  assert.deepEqual(uniqueOccurrence(['other', 'a teh dog b'], 'teh dog'), { index: 1, at: 2 });
  assert.equal(uniqueOccurrence(['teh dog', 'x teh dog'], 'teh dog'), undefined, 'two documents');
  assert.equal(uniqueOccurrence(['teh dog and teh dog'], 'teh dog'), undefined, 'twice in one');
  assert.equal(uniqueOccurrence(['The dog'], 'teh dog'), undefined, 'edited since');
  assert.equal(uniqueOccurrence(['anything'], ''), undefined, 'an empty draft is nowhere in particular');
});
