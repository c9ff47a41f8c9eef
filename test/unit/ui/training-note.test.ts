// The line under the Training tab's chart. A run that failed or was cancelled before its first step
// left it at "waiting for the first step…" for good.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chartNote, runEnded, type ChartRun } from '../../../webview/training-note';

test('a run that ends before its first step stops waiting; one with steps keeps its count', () => {
  const waiting: ChartRun = { kind: 'waiting' };
  assert.equal(chartNote(waiting), 'Training: waiting for the first step…');
  assert.match(chartNote(runEnded(waiting)), /^The run ended before its first step/);
  assert.equal(chartNote(runEnded({ kind: 'steps', steps: 3 })), '3 step(s).');
});

test('before any run here the note says where the listed versions came from', () => {
  assert.match(chartNote(runEnded({ kind: 'none', versions: 2 })), /the 2 version\(s\) below were trained earlier/);
  assert.match(chartNote({ kind: 'none', versions: 0 }), /^No training run yet\./);
});
