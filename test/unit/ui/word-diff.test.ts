// The word-level diff shown in the History tab.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffTokens, wordDiff, type DiffSegment } from '../../../src/ui/word-diff';

const side = (segments: DiffSegment[], drop: 'added' | 'removed') => segments.filter((s) => s.kind !== drop).map((s) => s.text).join('');

test('tokens are words, whitespace runs and single punctuation marks, and join back to the text', () => {
  assert.deepEqual(diffTokens('Hello,  wörld 42!'), ['Hello', ',', '  ', 'wörld', ' ', '42', '!']);
  assert.equal(diffTokens('').length, 0);
});

test('a changed word shows as a removal followed by an addition, the rest unchanged', () => {
  assert.deepEqual(wordDiff('teh quick brown fox', 'the quick brown fox'), [
    { kind: 'removed', text: 'teh' },
    { kind: 'added', text: 'the' },
    { kind: 'same', text: ' quick brown fox' },
  ]);
});

test('a deleted and an inserted word keep the words around them', () => {
  assert.deepEqual(wordDiff('one two three', 'one three'), [{ kind: 'same', text: 'one ' }, { kind: 'removed', text: 'two ' }, { kind: 'same', text: 'three' }]);
  assert.deepEqual(wordDiff('one three', 'one two three'), [{ kind: 'same', text: 'one ' }, { kind: 'added', text: 'two ' }, { kind: 'same', text: 'three' }]);
});

test('both sides are always recovered exactly', () => {
  const cases: [string, string][] = [
    ['', ''], ['', 'new text'], ['old text', ''], ['same', 'same'],
    ['The cat sat on the mat.', 'A cat sat upon the mat!'],
    ['line one\nline two\n', 'line one\n\nline 2\n'],
    ['x'.repeat(10), 'y'],
  ];
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const words = ['a', 'b', 'c', ' ', '.', '\n', 'dd'];
  for (let n = 0; n < 200; n++) {
    const make = () => Array.from({ length: Math.floor(rand() * 12) }, () => words[Math.floor(rand() * words.length)]).join('');
    cases.push([make(), make()]);
  }
  for (const [before, after] of cases) {
    const segments = wordDiff(before, after);
    assert.equal(side(segments, 'added'), before, JSON.stringify([before, after]));
    assert.equal(side(segments, 'removed'), after, JSON.stringify([before, after]));
    for (let i = 1; i < segments.length; i++) assert.notEqual(segments[i].kind, segments[i - 1].kind, 'adjacent segments of one kind are merged');
    if (before === after) assert.ok(segments.every((s) => s.kind === 'same'));
  }
});

test('the diff is minimal: unchanged words are never reported as changed', () => {
  const segments = wordDiff('one two three four five', 'one three five six');
  const same = segments.filter((s) => s.kind === 'same').map((s) => s.text).join('');
  assert.equal(same.replace(/\s+/g, ' ').trim(), 'one three five');
});

test('very long texts fall back to one replacement instead of a huge table', () => {
  const before = Array.from({ length: 3000 }, (_, i) => `w${i}`).join(' ');
  const after = Array.from({ length: 3000 }, (_, i) => `v${i}`).join(' ');
  const segments = wordDiff(`start ${before} end`, `start ${after} end`);
  assert.deepEqual(segments.map((s) => s.kind), ['same', 'removed', 'added', 'same']);
});
