import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keptWords, splitWords, editDistance } from '../../../src/training/word-edits';

const w = (s: string) => splitWords(s).map((x) => x.text);

test('word edit distance counts case and punctuation as part of a word', () => {
  assert.equal(editDistance(w('teh cat sat on the the mat'), w('The cat sat on the mat.')), 3);
  assert.equal(editDistance(w('on monday'), w('on Monday')), 1);
  assert.equal(editDistance([], w('a b')), 2);
});

test('kept words: the words of the first text that the second kept in order', () => {
  assert.deepEqual(keptWords(w('the cat sat'), w('the dog sat')), [true, false, true]);
  assert.deepEqual(splitWords(' ab  c').map((x) => [x.start, x.end]), [[1, 3], [5, 6]]);
});
