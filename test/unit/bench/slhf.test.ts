// bench:slhf's judge and its exact metric, so that the table's numbers can be trusted: the three
// annotators form a Condorcet cycle over the endings, a changed sentence loses for all of them, the
// typo part is transitive, and E[1 - p] computed from answer probabilities matches sampling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../../src/base/seeded-random';
import { bestResponse, ENDINGS, preference, splitEnding } from '../../../bench/slhf/judge';
import { editDistance } from '../../../src/training/word-edits';
import { expectedScore, summarize, type EndingProbs } from '../../../bench/slhf/metrics';
import { withEnding } from '../../../bench/slhf/tasks';

const stem = 'We went home';
const [A, B, C] = [0, 1, 2].map((e) => withEnding(stem, e));

test('the annotators\' majority is a cycle: A > B, B > C, C > A, each by 2 of 3', () => {
  assert.equal(preference(A, B, stem), 2 / 3);
  assert.equal(preference(B, C, stem), 2 / 3);
  assert.equal(preference(C, A, stem), 2 / 3);
  assert.equal(preference(A, A, stem), 0.5);
  for (const y of [A, B, C]) for (const z of [A, B, C]) assert.ok(Math.abs(preference(y, z, stem) + preference(z, y, stem) - 1) < 1e-12);
  assert.deepEqual([0, 1, 2].map(bestResponse), [2, 0, 1]);
});

test('changing the sentence loses for every annotator, whatever the endings', () => {
  for (const y of [A, B, C]) {
    for (const changed of ['We went hom.', 'We want home!', 'We went home', 'We went home;', 'They went home?', '']) {
      assert.equal(preference(y, changed, stem), 1, `${y} vs ${changed}`);
      assert.equal(preference(changed, y, stem), 0);
    }
  }
});

test('the typo part is transitive: fewer edits from the clean sentence win for all annotators', () => {
  const clean = 'The water is deep';
  assert.equal(preference('The wter is deep!', 'teh water is deep.', clean), 1);
  assert.equal(preference('The water is deep?', 'The wter is deep.', clean), 1);
  // Transitive only: the endings no longer matter.
  assert.equal(preference('The water is deep.', 'The water is deep!', clean, true), 0.5);
  assert.equal(preference('The water is deep.', 'The water is deep!', clean), 2 / 3);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.deepEqual(splitEnding(' x! '), { body: 'x', ending: 1 });
  assert.deepEqual(splitEnding('x'), { body: 'x', ending: -1 });
});

test('E[1-p]: copying scores 1/2, the best response 2/3, answers that ignore the draft 1/2 on average', () => {
  const one = (draft: number, k: number): EndingProbs => ({ stem, draft, probs: [0, 1, 2].map((j) => (j === k ? 1 : 0)) });
  for (let d = 0; d < 3; d++) {
    assert.equal(expectedScore(one(d, d)), 0.5);
    assert.ok(Math.abs(expectedScore(one(d, bestResponse(d))) - 2 / 3) < 1e-12);
  }
  for (let k = 0; k < 3; k++) assert.ok(Math.abs(summarize([0, 1, 2].map((d) => one(d, k))).score - 0.5) < 1e-12);
  const best = summarize([0, 1, 2].map((d) => one(d, bestResponse(d))));
  assert.deepEqual(best.bestResponse, [1, 1, 1]);
  assert.equal(best.other, 0);
  // Mass on any other answer scores 0.
  assert.ok(Math.abs(expectedScore({ stem, draft: 0, probs: [0.1, 0.2, 0.3] }) - (0.1 * 0.5 + 0.2 * (1 / 3) + 0.3 * (2 / 3))) < 1e-12);
});

test('E[1-p] from probabilities matches the judge on sampled answers (other answers included)', () => {
  const rand = seededRandom(5);
  const x: EndingProbs = { stem, draft: 1, probs: [0.5, 0.2, 0.2] };
  const answers = [A, B, C, 'We went hme!'];
  let total = 0;
  const n = 40000;
  for (let i = 0; i < n; i++) {
    let u = rand();
    const k = [...x.probs, 0.1].findIndex((q) => (u -= q) < 0);
    total += 1 - preference(withEnding(stem, x.draft), answers[k < 0 ? 3 : k], stem);
  }
  assert.ok(Math.abs(total / n - expectedScore(x)) < 0.01, `${total / n} vs ${expectedScore(x)}`);
  assert.equal(ENDINGS.length, 3);
});
