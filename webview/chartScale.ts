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
