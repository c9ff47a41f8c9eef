// The continued training's error kinds (recipes/default-model/grammar-errors.ts): each turns a clean
// sentence into the mistake people make, the pairs keep the clean sentence as the target, and the
// leak check finds a training sentence that shares six words in a row with the held-out set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLEAN, CORRUPTED } from '../../../bench/default/set';
import { applyGrammarError, everydaySentences, heldOutOverlap, makeGrammarPairs, type GrammarKind } from '../../../recipes/default-model/grammar-errors';

const first = () => 0; // always the first candidate

test('each kind makes its mistake, and does not apply where there is nothing to act on', () => {
  const cases: [GrammarKind, string, string][] = [
    ['proper-noun-lowercase', 'We met Anna in Vienna.', 'We met anna in Vienna.'],
    ['i-lowercase', 'Yesterday I walked home.', 'Yesterday i walked home.'],
    ['its-its', "It's late and the dog wants its dinner.", "Its late and the dog wants its dinner."],
    ['their-there', 'Their garden is small.', 'There garden is small.'],
    ['should-of', 'You should have asked.', 'You should of asked.'],
    ['agreement', "She doesn't eat fish.", "She don't eat fish."],
    ['to-too', 'The tea is too hot.', 'The tea is to hot.'],
    ['which-comma', 'We took the bus, which was late.', 'We took the bus which was late.'],
    ['sentence-start-lowercase', 'It rained. The road flooded.', 'It rained. the road flooded.'],
  ];
  for (const [kind, clean, wrong] of cases) assert.equal(applyGrammarError(kind, clean, first), wrong, kind);
  assert.equal(applyGrammarError('should-of', 'The cat sat on the mat.', first), null);
});

test('pairs target the clean sentence; some are left clean', () => {
  const sentences = everydaySentences(200, 1);
  const pairs = makeGrammarPairs(sentences, { seed: 2, cleanRate: 0.25 });
  assert.deepEqual(pairs.map((p) => p.target), sentences);
  assert.ok(pairs.some((p) => p.applied.length === 0 && p.input === p.target));
  assert.ok(pairs.filter((p) => p.applied.length > 0).every((p) => p.input !== p.target));
});

test('the leak check finds six shared words; the recipe\'s everyday sentences share none with the held-out set', () => {
  const heldOut = [...CORRUPTED, ...CLEAN].flatMap((t) => [t.input, t.target]);
  assert.deepEqual(heldOutOverlap(['Anyway, the launch itself went smoothly on the first day.'], heldOut).map((l) => l.shared), ['the launch itself went smoothly on']);
  assert.deepEqual(heldOutOverlap(everydaySentences(6000, 21), heldOut), []);
});
