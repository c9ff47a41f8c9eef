// The benchmark framework's table, regression flags and missing-peer message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTable, regressions, median, torchPeer, type SavedRun, type BenchRow } from '../../../bench/framework';

const rows: BenchRow[] = [
  { name: 'fwd', ours: 12, peer: 24, unit: 'ms', note: 'shapes' },
  { name: 'tokens', ours: 80, peer: null, unit: 'tok/s', higherIsBetter: true },
];
const previous: SavedRun = {
  date: 'then', machine: 'm', threads: 2, load: 0,
  rows: [{ name: 'fwd', ours: 10, peer: 20, unit: 'ms' }, { name: 'tokens', ours: 100, peer: null, unit: 'tok/s', higherIsBetter: true }],
};

test('rows more than 10% worse than the previous run are flagged, in either direction of "better"', () => {
  const worse = regressions(rows, previous);
  assert.deepEqual([...worse.keys()], ['fwd', 'tokens']);
  assert.ok(Math.abs(worse.get('fwd')! - 0.2) < 1e-12);
  assert.ok(Math.abs(worse.get('tokens')! - 0.25) < 1e-12);
  assert.equal(regressions([{ name: 'fwd', ours: 10.9, peer: null, unit: 'ms' }], previous).size, 0);
  assert.equal(regressions(rows, undefined).size, 0);
});

test('one table with the ratio, the change and the notes', () => {
  const table = formatTable(rows, previous).split('\n');
  assert.match(table[0], /benchmark .*\| ours .*\| peer .*\| unit .*\| ours\/peer .*\| vs previous/);
  assert.match(table[2], /fwd .*\| 12\.00 .*\| 24\.00 .*\| ms .*\| 0\.50x .*\| 20\.0% WORSE/);
  assert.match(table[3], /tokens .*\| 80\.00 .*\| - .*\| tok\/s .*\| - .*\| -20\.0% WORSE/);
  assert.ok(table.includes('- fwd: shapes'));
});

test('median of odd and even samples', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

test('a missing peer says how to install it', () => {
  const peer = torchPeer('/nonexistent/python3');
  assert.equal(peer.ok, false);
  assert.match(!peer.ok ? peer.reason : '', /apt-get install python3-torch/);
});
