// A new version is offered with its evaluation, not switched to silently (issue 19): the offer's
// sentence names the held-out accuracy with its sample size, hides it below the minimum, and
// compares with the untrained model on the same held-out decisions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { activationOffer, MIN_HELD_OUT_DECISIONS } from '../../../src/ui/held-out-text';

test('the offer names the accuracy with its sample size and the untrained model on the same decisions', () => {
  const offer = activationOffer('v0003', { trainDecisions: 24, heldOutDecisions: 7, heldOutAccuracy: 0.714, accuracyBefore: 0.643 }, 'v0002');
  assert.deepEqual(offer, {
    text: 'v0003 trained on 24 decisions: held-out accuracy 0.71 on 7 held-out decisions (the untrained model: 0.64 on the same decisions). Activate it?',
    activate: 'Activate v0003', keep: 'Keep v0002',
  });
  assert.equal(activationOffer('v0001', { trainDecisions: 24, heldOutDecisions: 7, heldOutAccuracy: 0.714, accuracyBefore: 0.643 }, null).keep, 'Keep the Base Model');
});

test('below the minimum sample size no accuracy is shown, neither the version\'s nor the comparison', () => {
  const few = activationOffer('v0002', { trainDecisions: 9, heldOutDecisions: MIN_HELD_OUT_DECISIONS - 1, heldOutAccuracy: 1, accuracyBefore: 0.25 }, 'v0001');
  assert.equal(few.text, `v0002 trained on 9 decisions: held-out accuracy not shown: ${MIN_HELD_OUT_DECISIONS - 1} held-out decision(s), at least ${MIN_HELD_OUT_DECISIONS} are needed. Activate it?`);
  assert.doesNotMatch(few.text, /1\.00|0\.25/);
  const none = activationOffer('v0001', { trainDecisions: 3, heldOutDecisions: 0, heldOutAccuracy: null, accuracyBefore: null }, null);
  assert.equal(none.text, 'v0001 trained on 3 decisions: no decision was held out to evaluate it. Activate it?');
});
