// The bench's figure as one standalone SVG: (1) held-out E[1 - p] against training steps for every
// method of the intransitive task, mean over seeds with the seeds' range as a band; (2) P(round k
// beats the draft) on the typo task's transitive part; (3) the Leader x Follower transfer matrix.
const COLORS = ['#1f77b4', '#2ca02c', '#d62728', '#ff7f0e', '#9467bd', '#8c564b'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const W = 360;
const H = 280;
const M = { left: 46, right: 10, top: 36, bottom: 40 };

export interface Series {
  name: string;
  /** x values and, per x, the seeds' values. */
  x: number[];
  values: number[][];
}

const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function linePanel(x0: number, title: string, xLabel: string, series: Series[], y: [number, number], refs: { y: number; label: string }[]): string {
  const xs = series.flatMap((s) => s.x);
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  const px = (v: number) => x0 + M.left + ((v - xMin) / Math.max(xMax - xMin, 1e-9)) * (W - M.left - M.right);
  // Values outside the axis are drawn at its edge (a collapsed baseline would squash the others).
  const py = (v: number) => M.top + (1 - (Math.min(Math.max(v, y[0]), y[1]) - y[0]) / (y[1] - y[0])) * (H - M.top - M.bottom);
  const ticks = Array.from({ length: 5 }, (_, i) => y[0] + ((y[1] - y[0]) * i) / 4);
  let out = `<text x="${x0 + W / 2}" y="18" text-anchor="middle" font-size="12" font-weight="bold">${esc(title)}</text>`;
  out += ticks.map((t) => `<line x1="${px(xMin)}" x2="${px(xMax)}" y1="${py(t)}" y2="${py(t)}" stroke="#eee"/><text x="${px(xMin) - 4}" y="${py(t) + 4}" text-anchor="end" font-size="10">${t.toFixed(2)}</text>`).join('');
  out += [...new Set(xs)].map((v) => `<text x="${px(v)}" y="${H - M.bottom + 14}" text-anchor="middle" font-size="10">${v}</text>`).join('');
  out += `<text x="${x0 + (W + M.left) / 2}" y="${H - 10}" text-anchor="middle" font-size="11">${esc(xLabel)}</text>`;
  out += refs.map((r) => `<line x1="${px(xMin)}" x2="${px(xMax)}" y1="${py(r.y)}" y2="${py(r.y)}" stroke="#999" stroke-dasharray="4 3"/><text x="${px(xMax) - 2}" y="${py(r.y) - 3}" text-anchor="end" font-size="9" fill="#666">${esc(r.label)}</text>`).join('');
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const lo = s.values.map((v) => Math.min(...v));
    const hi = s.values.map((v) => Math.max(...v));
    const band = [...s.x.map((v, j) => `${px(v).toFixed(1)},${py(hi[j]).toFixed(1)}`), ...s.x.map((v, j) => `${px(v).toFixed(1)},${py(lo[j]).toFixed(1)}`).reverse()].join(' ');
    out += `<polygon points="${band}" fill="${c}" opacity="0.15"/>`;
    out += `<polyline points="${s.x.map((v, j) => `${px(v).toFixed(1)},${py(avg(s.values[j])).toFixed(1)}`).join(' ')}" fill="none" stroke="${c}" stroke-width="2"/>`;
    out += `<rect x="${x0 + M.left + 6}" y="${M.top + 2 + i * 13}" width="12" height="3" fill="${c}"/><text x="${x0 + M.left + 22}" y="${M.top + 7 + i * 13}" font-size="10">${esc(s.name)}</text>`;
  });
  return `<g>${out}</g>`;
}

function matrixPanel(x0: number, title: string, rows: string[], cols: string[], values: number[][]): string {
  const cw = (W - 110) / cols.length;
  const ch = 40;
  let out = `<text x="${x0 + W / 2}" y="18" text-anchor="middle" font-size="12" font-weight="bold">${esc(title)}</text>`;
  out += `<text x="${x0 + 100 + (cols.length * cw) / 2}" y="${M.top + 4}" text-anchor="middle" font-size="10">Follower</text>`;
  cols.forEach((c, j) => (out += `<text x="${x0 + 100 + (j + 0.5) * cw}" y="${M.top + 18}" text-anchor="middle" font-size="10">${esc(c)}</text>`));
  rows.forEach((r, i) => {
    const yy = M.top + 24 + i * ch;
    out += `<text x="${x0 + 96}" y="${yy + ch / 2 + 4}" text-anchor="end" font-size="10">Leader ${esc(r)}</text>`;
    values[i].forEach((v, j) => {
      // White at 0.5 (no improvement), blue above, red below.
      const d = Math.max(-1, Math.min(1, (v - 0.5) * 2.5));
      const fill = d >= 0 ? `rgb(${Math.round(255 - 180 * d)},${Math.round(255 - 120 * d)},255)` : `rgb(255,${Math.round(255 + 150 * d)},${Math.round(255 + 150 * d)})`;
      out += `<rect x="${x0 + 100 + j * cw}" y="${yy}" width="${cw - 2}" height="${ch - 2}" fill="${fill}" stroke="#ccc"/><text x="${x0 + 100 + (j + 0.5) * cw}" y="${yy + ch / 2 + 4}" text-anchor="middle" font-size="11">${v.toFixed(2)}</text>`;
    });
  });
  out += `<text x="${x0 + W / 2}" y="${M.top + 36 + rows.length * ch}" text-anchor="middle" font-size="10">win rate of the refinement over the draft (0.5: no better)</text>`;
  return `<g>${out}</g>`;
}

export interface SlhfFigure {
  intransitive: Series[];
  iterations: Series[];
  transfer: { leaders: string[]; followers: string[]; values: number[][] } | null;
}

export function slhfPlot(f: SlhfFigure): string {
  const panels: string[] = [];
  if (f.intransitive.length) panels.push(linePanel(0, '1. intransitive endings: Follower E[1-p]', 'training step (below 0.3: at the edge)', f.intransitive, [0.3, 0.7], [{ y: 2 / 3, label: 'optimum 2/3' }, { y: 0.5, label: 'ignores the draft: 1/2' }]));
  if (f.iterations.length) panels.push(linePanel(panels.length * W, '2. typos: P(round k beats the draft)', 'round k', f.iterations, [0.3, 0.9], [{ y: 0.5, label: 'no better than the draft' }]));
  if (f.transfer) panels.push(matrixPanel(panels.length * W, '3. transfer (typo task, full judge)', f.transfer.leaders, f.transfer.followers, f.transfer.values));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W * panels.length}" height="${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${panels.join('')}</svg>\n`;
}
