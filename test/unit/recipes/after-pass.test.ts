// The built-in model's training behind Harper's first pass (recipes/default-model/after-pass.ts): each
// input is what the pass leaves, each target is a sentence the pass leaves alone, both kinds (errors
// and clean sentences of the same shapes) are there, and nothing comes from the held-out set of
// bench/default/set.ts (none of its error frames, no five words in a row).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CLEAN, CORRUPTED } from '../../../bench/default/set';
import { loadHarper, type Harper } from '../../../src/models/harper';
import { harperFix } from '../../../src/refiner/harper-pass';
import { afterPassPairs, AFTER_PASS_KINDS, hasBenchFrame } from '../../../recipes/default-model/after-pass';
import { heldOutOverlap } from '../../../recipes/default-model/grammar-errors';

let harper: Harper;
before(async () => {
  harper = await loadHarper();
});

test('the held-out error frames are found whole, case ignored, and not inside other words', () => {
  assert.equal(hasBenchFrame('Its going to snow.'), true);
  assert.equal(hasBenchFrame('The bus was TO SLOW for us.'), true);
  assert.equal(hasBenchFrame('Is that you and John?'), true);
  assert.equal(hasBenchFrame("It's raining again."), false);
  assert.equal(hasBenchFrame('The photos slowed us down.'), false);
});

test('pairs are as the first pass leaves them, with errors and clean sentences, and none from the held-out set', async () => {
  const pairs = await afterPassPairs(harper, 300, 7);
  assert.equal(pairs.length, 300);
  const clean = pairs.filter((p) => p.kind === 'clean');
  const wrong = pairs.filter((p) => p.kind !== 'clean');
  assert.ok(clean.length > 60 && wrong.length > 60, `${clean.length} clean, ${wrong.length} with an error`);
  assert.ok(new Set(wrong.map((p) => p.kind)).size >= AFTER_PASS_KINDS.length - 2, 'most kinds are there');
  for (const p of clean) assert.equal(p.input, p.target);
  for (const p of wrong) assert.notEqual(p.input, p.target);
  for (const p of pairs.slice(0, 60)) {
    assert.equal(await harperFix(harper, p.target), p.target, 'the pass leaves the target alone');
    assert.equal(await harperFix(harper, p.input), p.input, 'the input is what the pass left');
  }
  const texts = pairs.flatMap((p) => [p.input, p.target]);
  assert.deepEqual(texts.filter(hasBenchFrame), []);
  assert.deepEqual(heldOutOverlap(texts, [...CORRUPTED, ...CLEAN].flatMap((t) => [t.input, t.target]), 5), []);
});
