// The Harper judge prefers a fix over the error and penalizes changing a correct word; Harper's
// first suggestions fix the errors it knows.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadHarper, newLints, type Harper } from '../../../src/models/harper';
import { harperJudge, harperPreference } from '../../../src/training/harper';

let harper: Harper;
before(async () => {
  harper = await loadHarper();
});

test('a text with a misspelling loses to its fix, whichever side it is on', async () => {
  const wrong = 'We recieved the letter yesterday.';
  const right = 'We received the letter yesterday.';
  assert.ok(await harperPreference(harper, wrong, right) < 0.5);
  assert.ok(await harperPreference(harper, right, wrong) > 0.5);
});

test('changing a correct word is penalized even when the result has no lint', async () => {
  const y = 'The cat sat on the mat.';
  const changed = 'The dog sat on the mat.';
  assert.deepEqual(await harper.lint(changed), []);
  assert.ok(await harperPreference(harper, y, changed) > 0.5);
  assert.equal(await harperPreference(harper, y, y), 0.5);
});

test('as an online Judge it decodes the token ids first', async () => {
  const texts = ['We recieved it.', 'We received it.'];
  const judge = harperJudge(harper, (ids) => texts[ids[0]]);
  assert.ok(await judge.prefer({ prompt: [], leader: [0], follower: [1] }) < 0.5);
});

test('fixFirst applies the first suggestion of each lint, text around them kept', async () => {
  assert.equal(await harper.fixFirst('We should of known that the the dog was hungry.'), 'We should have known that the dog was hungry.');
});

test('newLints: what a refinement broke, not what the input already had', async () => {
  const input = 'We recieved the letter yesterday.';
  assert.deepEqual(await newLints(harper, input, input), []);
  assert.deepEqual(await newLints(harper, input, 'We received the letter yesterday.'), []);
  const broken = await newLints(harper, input, 'We recieved the the letter yesterday.');
  assert.equal(broken.length, 1);
  assert.equal(broken[0].kind, 'Repetition');
});
