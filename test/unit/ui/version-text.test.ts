// How the panel describes a version's held-out accuracy (issue 19: "held-out accuracy 1.000" from 1-2 held-out decisions).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { heldOutAccuracyText, MIN_HELD_OUT_DECISIONS } from '../../../webview/version-text';

test('accuracy comes with its sample size, and is not shown below the minimum (which is named)', () => {
  assert.equal(heldOutAccuracyText({ heldOutAccuracy: 0.8125, heldOutDecisions: 16 }), 'held-out accuracy 0.81 on 16 held-out decisions');
  const few = heldOutAccuracyText({ heldOutAccuracy: 1, heldOutDecisions: 2 });
  assert.doesNotMatch(few, /1\.0/);
  assert.match(few, new RegExp(`2 held-out decision\\(s\\), at least ${MIN_HELD_OUT_DECISIONS} are needed`));
  assert.equal(heldOutAccuracyText({ heldOutAccuracy: null, heldOutDecisions: 0 }), 'held-out accuracy not measured');
});
