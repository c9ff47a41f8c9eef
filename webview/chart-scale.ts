// Scales a training metric's points into an SVG polyline. Pure, unit-tested.

export interface ChartBox {
  readonly width: number;
  readonly height: number;
  readonly padding: number;
}

/** The polyline `points` attribute for values over steps 0..n-1; non-finite values are skipped. */
export function polylinePoints(values: readonly number[], box: ChartBox): string {
  const finite = values.map((v, i) => [i, v] as const).filter(([, v]) => Number.isFinite(v));
  if (finite.length === 0) return '';
  const ys = finite.map(([, v]) => v);
  const min = Math.min(...ys);
  const max = Math.max(...ys);
  const span = max - min || 1;
  const steps = Math.max(1, values.length - 1);
  const w = box.width - 2 * box.padding;
  const h = box.height - 2 * box.padding;
  const round = (x: number) => Math.round(x * 10) / 10;
  return finite.map(([i, v]) => `${round(box.padding + (i / steps) * w)},${round(box.padding + h - ((v - min) / span) * h)}`).join(' ');
}

/** A value as an axis label or legend shows it: 3 significant digits, exponent form only when tiny or huge. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const abs = Math.abs(v);
  return abs >= 1e-3 && abs < 1e5 ? String(Number(v.toPrecision(3))) : v.toExponential(2);
}

/** The finite range of a series (the chart's axis for it), or null when it has no finite value. */
export function seriesRange(values: readonly number[]): { min: number; max: number } | null {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length ? { min: Math.min(...finite), max: Math.max(...finite) } : null;
}

/** A series' legend text: its first and last value and its range, e.g. "loss 0.693 → 0.512 (0.5 to 0.7)". */
export function seriesLegend(label: string, values: readonly number[]): string {
  const finite = values.filter((v) => Number.isFinite(v));
  const range = seriesRange(values);
  if (!range) return `${label}: no values yet`;
  return `${label} ${formatValue(finite[0])} → ${formatValue(finite[finite.length - 1])} (${formatValue(range.min)} to ${formatValue(range.max)})`;
}
