// The review's hunks, per-hunk composition, identical-round groups and the flags on a garbled round.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { composeText, computeHunks, groupLabel, groupOf, hunkOfLint, proposalFlags, roundGroups, type HunkChoice } from '../../../src/ui/hunks';

const original = 'teh cat sat on the the mat';
const proposal = 'The cat sat on the mat.';

test('each separate fix is a hunk, placed in both texts', () => {
  const hunks = computeHunks(original, proposal);
  assert.equal(hunks.length, 3, JSON.stringify(hunks));
  const [first, second, third] = hunks;
  assert.deepEqual([first.removed, first.added, original.slice(first.start, first.end)], ['teh', 'The', 'teh']);
  assert.equal(proposal.slice(first.proposalStart, first.proposalStart + first.added.length), 'The');
  // The doubled word goes; the full stop is its own change at the end.
  assert.equal(second.added, '');
  assert.match(second.removed, /^ ?the ?$/);
  assert.deepEqual([third.removed, third.added, third.start], ['', '.', original.length]);
  assert.deepEqual(hunks.map((h) => h.index), [0, 1, 2]);
});

test('changes separated only by whitespace are one hunk', () => {
  const hunks = computeHunks('teh quikc brown fox', 'The quick brown fox');
  assert.equal(hunks.length, 1);
  assert.deepEqual([hunks[0].removed, hunks[0].added], ['teh quikc', 'The quick']);
  assert.deepEqual(computeHunks('same text', 'same text'), []);
});

test('accepting every hunk gives the proposal, rejecting every hunk the original, and a mix exactly those changes', () => {
  for (const [a, b] of [[original, proposal], ['one two three', 'uno two tres'], ['', 'new text'], ['old text', ''], ['a  b\nc', 'a b\n\nc d']]) {
    const hunks = computeHunks(a, b);
    const none = new Map<number, HunkChoice>();
    assert.equal(composeText(a, hunks, none, 'accepted'), b, `${a} -> ${b}`);
    assert.equal(composeText(a, hunks, none, 'rejected'), a, `${a} -> ${b}`);
  }
  const hunks = computeHunks(original, proposal);
  const onlyFirst = new Map<number, HunkChoice>([[0, 'accepted']]);
  assert.equal(composeText(original, hunks, onlyFirst, 'rejected'), 'The cat sat on the the mat');
  const allButFirst = new Map<number, HunkChoice>([[0, 'rejected']]);
  assert.equal(composeText(original, hunks, allButFirst, 'accepted'), 'teh cat sat on the mat.');
});

test('a round equal to the one before it is grouped with it', () => {
  assert.deepEqual(roundGroups(['a', 'b', 'b']), [{ first: 0, last: 0 }, { first: 1, last: 2 }]);
  assert.deepEqual(roundGroups(['a', 'b', 'a']), [{ first: 0, last: 0 }, { first: 1, last: 1 }, { first: 2, last: 2 }], 'only rounds in a row');
  assert.deepEqual(roundGroups([]), []);
  const groups = roundGroups(['a', 'b', 'b']);
  assert.equal(groupOf(groups, 2), 1);
  assert.equal(groupLabel(groups[1], 3), 'Rounds 2-3 of 3 (identical)');
  assert.equal(groupLabel(groups[0], 3), 'Round 1 of 3');
});

test('a round that deletes much of the text or rewrites far more than it keeps is flagged; an ordinary fix is not', () => {
  const paragraph = 'We received a lot of feedback about the new release and the team is going to discuss it next week.';
  assert.deepEqual(proposalFlags(original, proposal), []);
  assert.deepEqual(proposalFlags(paragraph, paragraph.replace('lot', 'great deal')), []);
  const truncated = proposalFlags(paragraph, 'We received a lot.').map((f) => f.detail);
  assert.ok(truncated.some((f) => /deletes 80% of the words \(20 -> 4\)/.test(f)), truncated.join(' '));
  const garbled = proposalFlags(paragraph, 'T percent costs is rising to we recieved allot from awout the netwabout mes going discus it next wak here').map((f) => f.detail);
  assert.ok(garbled.some((f) => /changes \d+ of the 20 words and keeps \d+/.test(f)), garbled.join(' '));
  // A tiny text changes by a large share with one fixed word: not flagged.
  assert.deepEqual(proposalFlags('teh dog', 'The dog.'), []);
});

test('a lint in the proposal belongs to the hunk whose added text holds it', () => {
  const after = 'The cat sat ithin the mat.';
  const hunks = computeHunks('the cat sat in the mat', after);
  const at = after.indexOf('ithin');
  const hunk = hunkOfLint(hunks, { start: at, end: at + 5, message: 'spelling' });
  assert.ok(hunk);
  assert.equal(hunk.added, 'ithin');
  assert.equal(hunkOfLint(hunks, { start: 4, end: 7, message: 'in unchanged text' }), undefined);
});
