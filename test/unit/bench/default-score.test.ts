import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scoreText, summarize } from '../../../bench/default/score';
import { CLEAN, CORRUPTED } from '../../../bench/default/set';

const item = { id: 'p', input: 'i saw it on monday. the the dog ran.', target: 'I saw it on Monday. The dog ran.' };

test('word errors: case, doubled words and punctuation each count; an exact fix has none', () => {
  const fixed = scoreText(item, 'I saw it on Monday. The dog ran.\n');
  assert.deepEqual([fixed.exact, fixed.inputErrors, fixed.outputErrors, fixed.truncated], [true, 4, 0, false]);
  const half = scoreText(item, 'I saw it on monday. the the dog ran.');
  assert.deepEqual([half.exact, half.outputErrors], [false, 3]);
});

test('a multi-sentence text that lost its words is truncated; the summary counts fixes, error reduction and changed clean texts', () => {
  const cut = scoreText(item, 'I saw it.');
  assert.equal(cut.truncated, true);
  const clean = { id: 'c', input: 'All good.', target: 'All good.' };
  const s = summarize([scoreText(item, item.target), cut, scoreText(clean, 'All good!')]);
  assert.deepEqual(s, { corrupted: 2, exactFixes: 1, errorReduction: 1 - (0 + 6) / 8, clean: 1, cleanChanged: 1, multiSentence: 2, truncated: 1 });
});

test('the held-out set: 17 corrupted texts (4 paragraphs or more, one of ~1,500 characters) and 10 clean ones', () => {
  assert.equal(CORRUPTED.length, 17);
  assert.equal(CLEAN.length, 10);
  for (const t of CORRUPTED) assert.notEqual(t.input, t.target, t.id);
  assert.ok(CORRUPTED.filter((t) => scoreText(t, t.target).multiSentence).length >= 4);
  assert.ok(Math.max(...CORRUPTED.map((t) => t.input.length)) >= 1400);
});
