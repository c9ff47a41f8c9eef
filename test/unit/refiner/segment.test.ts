// Sentence splitting keeps every character (so a rejoined text is whole), and the garble guard.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isGarbled, joinPieces, keepLineEnding, splitSentences } from '../../../src/refiner/segment';

const sentences = (text: string) => splitSentences(text).filter((p) => p.refine).map((p) => p.text);

test('a 4-sentence paragraph splits into its 4 sentences, lowercase starts included, and rejoins exactly', () => {
  const text = 'Sales went up by ten percent. the costs is rising to!  We recieved allot of feedback? i think their right.';
  assert.deepEqual(sentences(text), ['Sales went up by ten percent.', 'the costs is rising to!', 'We recieved allot of feedback?', 'i think their right.']);
  assert.equal(joinPieces(splitSentences(text)), text);
});

test('newlines, blank lines, indentation and outer whitespace stay between the sentences', () => {
  const text = '  First line here.\nSecond line.\r\n\n\tThird one ends without a stop\n';
  const pieces = splitSentences(text);
  assert.equal(joinPieces(pieces), text);
  assert.deepEqual(sentences(text), ['First line here.', 'Second line.', 'Third one ends without a stop']);
  assert.deepEqual(pieces.filter((p) => !p.refine).map((p) => p.text), ['  ', '\n', '\r\n\n\t', '\n']);
});

test('abbreviations and initials do not end a sentence', () => {
  assert.deepEqual(sentences('Dr. Smith met J. Doe, e.g. on Monday. It went well.'), ['Dr. Smith met J. Doe, e.g. on Monday.', 'It went well.']);
});

test('a sentence too long for the model is cut at commas or spaces, every character kept', () => {
  const text = `${'one two three, '.repeat(40)}end.`;
  const pieces = splitSentences(text, 100);
  assert.equal(joinPieces(pieces), text);
  for (const p of pieces) assert.ok(p.text.length <= 100, p.text);
  assert.ok(pieces.filter((p) => p.refine).length > 5);
});

test('empty and whitespace-only texts give nothing to refine', () => {
  assert.deepEqual(sentences(''), []);
  assert.deepEqual(sentences(' \n '), []);
  assert.equal(joinPieces(splitSentences(' \n ')), ' \n ');
});

test('the garble guard: losing more than half the words or more than doubling them is garbled; a doubled word removed is not', () => {
  assert.equal(isGarbled('We recieved allot of feedback from users about the new design.', 'We recieved allot.'), true);
  assert.equal(isGarbled('Hi there.', 'Hi there, hi there, hi there, hi there.'), true);
  assert.equal(isGarbled('teh cat sat on the the mat', 'The cat sat on the mat.'), false);
  assert.equal(isGarbled('the the', 'The.'), false);
});

test('a line that is not a sentence keeps its ending in a multi-line text; a single sentence may gain its full stop', () => {
  assert.equal(keepLineEnding('Dear Maria,', 'Dear Maria,.', true), 'Dear Maria,');
  assert.equal(keepLineEnding('Dear Maria,', 'Dear Maria,.', false), 'Dear Maria,');
  assert.equal(keepLineEnding('Anna', 'Anna.', true), 'Anna');
  assert.equal(keepLineEnding('teh cat sat on the mat', 'The cat sat on the mat.', false), 'The cat sat on the mat.');
  assert.equal(keepLineEnding('It ends here.', 'It ends here.', true), 'It ends here.');
  assert.equal(keepLineEnding('Wait for it', 'Wait for it...', true), 'Wait for it...');
});
