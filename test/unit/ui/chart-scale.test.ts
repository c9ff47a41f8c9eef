// Scaling training metrics into the Training tab's SVG chart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { polylinePoints } from '../../../webview/chart-scale';

const box = { width: 110, height: 60, padding: 5 };
const parse = (points: string) => points.split(' ').map((p) => p.split(',').map(Number));

test('points span the box: first step left, last step right, the maximum at the top', () => {
  assert.deepEqual(parse(polylinePoints([3, 1, 2], box)), [[5, 5], [55, 55], [105, 30]]);
});

test('a constant series is drawn flat instead of dividing by zero', () => {
  const ys = parse(polylinePoints([2, 2, 2], box)).map(([, y]) => y);
  assert.ok(ys.every((y) => y === ys[0] && Number.isFinite(y)));
});

test('non-finite values are skipped and an empty series draws nothing', () => {
  assert.deepEqual(parse(polylinePoints([1, Number.NaN, 3], box)).map(([x]) => x), [5, 105]);
  assert.equal(polylinePoints([], box), '');
  assert.equal(polylinePoints([Number.POSITIVE_INFINITY], box), '');
});

test('axis values and legends: short numbers, first -> last and the range; an empty series says so', async () => {
  const { formatValue, seriesLegend, seriesRange } = await import('../../../webview/chart-scale');
  assert.deepEqual([formatValue(0.693147), formatValue(12.3456), formatValue(0), formatValue(1.5e-6), formatValue(-2)], ['0.693', '12.3', '0', '1.50e-6', '-2']);
  assert.deepEqual(seriesRange([3, Number.NaN, 1, 2]), { min: 1, max: 3 });
  assert.equal(seriesRange([]), null);
  assert.equal(seriesLegend('loss', [0.693147, 0.6, 0.512]), 'loss 0.693 → 0.512 (0.512 to 0.693)');
  assert.equal(seriesLegend('KL', []), 'KL: no values yet');
});
