// Train waits for decisions the newest version has not seen (issue 19: retraining made v0002, v0003 on the same data).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trainGate } from '../../../src/ui/train-gate';

test('Train is ready only with new decisions, and says how many or why not', () => {
  assert.deepEqual(trainGate({ newDecided: 0, since: null }), { ready: false, note: 'Nothing to train on yet: accept or reject a few refinements first.' });
  assert.deepEqual(trainGate({ newDecided: 3, since: null }), { ready: true, note: '3 decision(s) to train on.' });
  assert.equal(trainGate({ newDecided: 0, since: 'v0002' }).ready, false);
  assert.match(trainGate({ newDecided: 0, since: 'v0002' }).note, /No new decisions since v0002/);
  assert.deepEqual(trainGate({ newDecided: 2, since: 'v0002' }), { ready: true, note: '2 new decision(s) since v0002.' });
});
