// The fix metrics on hand-built pairs with a fake refiner whose behaviour is known: it fixes "teh"
// and missing final periods, and it damages clean text that contains "colour".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixMetrics } from '../../../lab/fix-metrics';
import type { RefinementPair } from '../../../lab/corruption';

const fake = async (text: string) => {
  let out = text.replace(/\bteh\b/g, 'the').replace(/colour/g, 'color');
  if (!/[.!?]$/.test(out)) out += '.';
  return out;
};

const PAIRS: RefinementPair[] = [
  { input: 'teh cat sat.', target: 'the cat sat.', applied: ['misspelling'] }, // fixed
  { input: 'The dog ran', target: 'The dog ran.', applied: ['missing-final-punctuation'] }, // fixed
  { input: 'teh dog ran', target: 'the dog ran.', applied: ['misspelling', 'missing-final-punctuation'] }, // fixed
  { input: 'the the end.', target: 'The end.', applied: ['doubled-word', 'lowercase-start'] }, // missed
  { input: 'A red colour.', target: 'A red colour.', applied: [] }, // damaged
  { input: 'All is well.', target: 'All is well.', applied: [] }, // kept
  { input: 'Fine.', target: 'Fine.', applied: [] }, // kept
];

test('exact-fix rate on corrupted inputs, damage rate on clean inputs, and fixes by kind', async () => {
  const m = await fixMetrics(PAIRS, fake);
  assert.equal(m.corrupted, 4);
  assert.equal(m.exactFixes, 3);
  assert.equal(m.exactFixRate, 0.75);
  assert.equal(m.clean, 3);
  assert.equal(m.damaged, 1);
  assert.equal(m.damageRate, 1 / 3);
  assert.deepEqual(m.byKind, {
    misspelling: { count: 2, fixed: 2, rate: 1 },
    'missing-final-punctuation': { count: 2, fixed: 2, rate: 1 },
    'doubled-word': { count: 1, fixed: 0, rate: 0 },
    'lowercase-start': { count: 1, fixed: 0, rate: 0 },
  });
  assert.deepEqual(m.misses, [
    { input: 'the the end.', target: 'The end.', output: 'the the end.' },
    { input: 'A red colour.', target: 'A red colour.', output: 'A red color.' },
  ]);
});

test('the identity refiner fixes nothing and damages nothing; misses are capped; empty sides give null rates', async () => {
  const m = await fixMetrics(PAIRS, (t) => t, 1);
  assert.equal(m.exactFixRate, 0);
  assert.equal(m.damageRate, 0);
  assert.equal(m.misses.length, 1);
  const onlyClean = await fixMetrics(PAIRS.filter((p) => p.applied.length === 0), fake);
  assert.equal(onlyClean.exactFixRate, null);
  assert.equal((await fixMetrics([], fake)).damageRate, null);
});
