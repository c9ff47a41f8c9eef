// The default model's random-word sentences: words drawn at their corpus frequencies, or every
// distinct word equally often (the last warm-start phase), so that rare words get copied too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomSentences } from '../../../recipes/default-model/recipe';

// "the" occurs nine times, "sat" once.
const corpus = ['The the the the the the the the the sat.'];

function shareOf(word: string, sentences: readonly string[]): number {
  const words = sentences.flatMap((s) => s.toLowerCase().match(/[a-z]+/g) ?? []);
  return words.filter((w) => w === word).length / words.length;
}

test('occurrences draws a word as often as the corpus has it; types draws every distinct word equally often', () => {
  const byOccurrence = randomSentences(corpus, 400, 1);
  const byType = randomSentences(corpus, 400, 1, 'types');
  assert.ok(Math.abs(shareOf('sat', byOccurrence) - 0.1) < 0.03, `sat share ${shareOf('sat', byOccurrence)}`);
  assert.ok(Math.abs(shareOf('sat', byType) - 0.5) < 0.05, `sat share ${shareOf('sat', byType)}`);
  for (const s of byType) assert.match(s, /^(The|Sat)( (the|sat),?)+[.!?]$/);
});

test('the same seed gives the same sentences', () => {
  assert.deepEqual(randomSentences(corpus, 20, 7, 'types'), randomSentences(corpus, 20, 7, 'types'));
  assert.notDeepEqual(randomSentences(corpus, 20, 7, 'types'), randomSentences(corpus, 20, 8, 'types'));
});
