// The paragraph used as the draft when nothing is selected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { paragraphAt } from '../../../src/ui/paragraph';

const lines = ['# Title', '', 'first line', 'second line', '   ', 'other', ''];

test('the paragraph runs between the nearest blank lines around the cursor', () => {
  assert.deepEqual(paragraphAt(lines, 2), { startLine: 2, endLine: 3 });
  assert.deepEqual(paragraphAt(lines, 3), { startLine: 2, endLine: 3 });
  assert.deepEqual(paragraphAt(lines, 5), { startLine: 5, endLine: 5 });
  assert.deepEqual(paragraphAt(lines, 0), { startLine: 0, endLine: 0 });
  assert.deepEqual(paragraphAt(['only'], 0), { startLine: 0, endLine: 0 });
});

test('a blank line (whitespace only) or a line outside the document has no paragraph', () => {
  assert.equal(paragraphAt(lines, 1), undefined);
  assert.equal(paragraphAt(lines, 4), undefined);
  assert.equal(paragraphAt(lines, 99), undefined);
  assert.equal(paragraphAt(lines, -1), undefined);
});
