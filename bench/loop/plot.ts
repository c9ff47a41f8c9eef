// Acceptance rate against decisions, one panel per user, one line per method, as a standalone SVG.
import type { LoopResult } from './simulate';

const COLORS: Record<string, string> = { slhf: '#1f77b4', dpo: '#d62728' };
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function acceptancePlot(results: LoopResult[], every: number, titles: Record<string, string>): string {
  const users = [...new Set(results.map((r) => r.user))];
  const W = 320;
  const H = 240;
  const m = { left: 48, right: 12, top: 40, bottom: 44 };
  const panels = users.map((user, u) => {
    const x0 = u * W;
    const mine = results.filter((r) => r.user === user);
    const blocks = Math.max(...mine.map((r) => r.acceptance.length));
    const px = (b: number) => x0 + m.left + ((b + 1) * every / (blocks * every)) * (W - m.left - m.right);
    const py = (rate: number) => m.top + (1 - rate) * (H - m.top - m.bottom);
    const grid = [0, 0.25, 0.5, 0.75, 1].map((t) =>
      `<line x1="${x0 + m.left}" x2="${x0 + W - m.right}" y1="${py(t)}" y2="${py(t)}" stroke="#ddd"/>` +
      `<text x="${x0 + m.left - 6}" y="${py(t) + 4}" text-anchor="end" font-size="11">${t}</text>`).join('');
    const ticks = Array.from({ length: blocks }, (_, b) =>
      `<text x="${px(b)}" y="${H - m.bottom + 16}" text-anchor="middle" font-size="11">${(b + 1) * every}</text>`).join('');
    const lines = mine.map((r) => {
      const pts = r.acceptance.map((a, b) => `${px(b).toFixed(1)},${py(a).toFixed(1)}`).join(' ');
      const dots = r.acceptance.map((a, b) => `<circle cx="${px(b).toFixed(1)}" cy="${py(a).toFixed(1)}" r="3" fill="${COLORS[r.method]}"/>`).join('');
      return `<polyline points="${pts}" fill="none" stroke="${COLORS[r.method]}" stroke-width="2"/>${dots}`;
    }).join('');
    return `<g><text x="${x0 + W / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${escape(user)}</text>` +
      `<text x="${x0 + W / 2}" y="30" text-anchor="middle" font-size="10">${escape(titles[user] ?? '')}</text>${grid}${ticks}` +
      `<text x="${x0 + (W + m.left) / 2}" y="${H - 8}" text-anchor="middle" font-size="11">decisions (block end)</text>${lines}</g>`;
  });
  const legend = Object.entries(COLORS).map(([name, color], i) =>
    `<rect x="${12 + i * 90}" y="${H + 4}" width="14" height="4" fill="${color}"/><text x="${30 + i * 90}" y="${H + 10}" font-size="11">${name === 'slhf' ? 'SLHF' : 'DPO (Bradley–Terry)'}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W * users.length}" height="${H + 20}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="white"/>` +
    `<text x="8" y="${(H - 4) / 2}" font-size="11" transform="rotate(-90 8 ${(H - 4) / 2})" text-anchor="middle">acceptance rate</text>` +
    `${panels.join('')}${legend}</svg>\n`;
}
