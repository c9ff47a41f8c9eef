// The benchmark framework: each bench/*.bench.ts exports `run(context)` returning table rows; run.ts
// prints them as one table, saves the results and compares them with the previous run.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, totalmem, platform, release } from 'node:os';
import { basename, join } from 'node:path';

export interface BenchContext {
  /** Threads for both sides (ORT intraOpNumThreads, torch.set_num_threads). */
  threads: number;
  /** Timed iterations after warm-up. */
  iterations: number;
  log: (message: string) => void;
}

export interface BenchRow {
  name: string;
  /** Our figure (lower is better unless higherIsBetter). */
  ours: number;
  /** The peer's figure for the same work, or null when the peer could not run. */
  peer: number | null;
  unit: string;
  higherIsBetter?: boolean;
  /** Shown under the table: peer problems, agreement checks, shapes. */
  note?: string;
}

export interface BenchModule {
  run(context: BenchContext): Promise<BenchRow[]>;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Times an async action: `warmup` untimed calls, then the median of `iterations` timed calls, in ms. */
export async function timeMs(action: () => Promise<unknown>, iterations: number, warmup = 3): Promise<number> {
  for (let i = 0; i < warmup; i++) await action();
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    await action();
    times.push(performance.now() - start);
  }
  return median(times);
}

export const PYTHON = '/usr/bin/python3';
export const TORCH_INSTALL_HINT = 'PyTorch peer missing: install it with `apt-get install python3-torch` (Debian), then it runs with /usr/bin/python3';

// Debian's torch links the generic libblas.so.3, which resolves to the slow reference BLAS unless
// OpenBLAS is installed; peers load OpenBLAS when present so the comparison is against a fair torch.
const OPENBLAS_DIRS = ['/usr/lib/x86_64-linux-gnu/openblas-pthread', '/usr/lib/aarch64-linux-gnu/openblas-pthread'];
export const OPENBLAS_HINT = 'reference BLAS is slow; `apt-get install libopenblas0-pthread` for a fair peer';

/** Environment for a torch peer: its thread count, and OpenBLAS ahead of the reference BLAS. */
export function peerEnv(threads: number): NodeJS.ProcessEnv {
  const openblas = OPENBLAS_DIRS.find((d) => existsSync(d));
  // Values already in the environment win, to try other splits between torch's and OpenBLAS's pools.
  const env: NodeJS.ProcessEnv = { OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), ...process.env };
  if (openblas) env.LD_LIBRARY_PATH = [openblas, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return env;
}

/** Whether the Python peer with torch is available; the reason when not. */
export function torchPeer(python = PYTHON): { ok: true; version: string } | { ok: false; reason: string } {
  try {
    const version = execFileSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    return { ok: true, version };
  } catch {
    return { ok: false, reason: TORCH_INSTALL_HINT };
  }
}

export function machineDescription(): string {
  const cpu = cpus();
  return `${cpu[0]?.model ?? 'unknown CPU'} x${cpu.length}, ${Math.round(totalmem() / 2 ** 30)} GB, ${platform()} ${release()}, node ${process.version}`;
}

export interface SavedRun {
  date: string;
  machine: string;
  threads: number;
  /** 1-minute load average when the run finished. */
  load: number;
  rows: BenchRow[];
}

/** Rows whose own figure got more than `threshold` worse than in the previous run. */
export function regressions(current: BenchRow[], previous: SavedRun | undefined, threshold = 0.1): Map<string, number> {
  const out = new Map<string, number>();
  for (const row of current) {
    const before = previous?.rows.find((r) => r.name === row.name && r.unit === row.unit);
    if (!before || before.ours === 0) continue;
    const change = row.higherIsBetter ? before.ours / row.ours - 1 : row.ours / before.ours - 1;
    out.set(row.name, change);
  }
  for (const [name, change] of out) if (change <= threshold) out.delete(name);
  return out;
}

function fmt(v: number | null): string {
  if (v === null) return '-';
  return Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3);
}

/** One table: name, ours, peer, unit, ratio (ours/peer; < 1 is faster for times), change vs previous. */
export function formatTable(rows: BenchRow[], previous: SavedRun | undefined): string {
  const worse = regressions(rows, previous);
  const header = ['benchmark', 'ours', 'peer', 'unit', 'ours/peer', 'vs previous'];
  const body = rows.map((r) => {
    const before = previous?.rows.find((p) => p.name === r.name && p.unit === r.unit);
    const change = before ? `${((r.ours / before.ours - 1) * 100).toFixed(1)}%` : 'new';
    return [r.name, fmt(r.ours), fmt(r.peer), r.unit, r.peer ? `${(r.ours / r.peer).toFixed(2)}x` : '-', worse.has(r.name) ? `${change} WORSE` : change];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  const notes = rows.filter((r) => r.note).map((r) => `- ${r.name}: ${r.note}`);
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line), ...(notes.length ? ['', ...notes] : [])].join('\n');
}

/** The Qwen2.5-0.5B shape runs by default (the table has both fixtures); SLHF_BENCH_05B=0 skips it. */
export const withHalfBillionShape = (): boolean => process.env.SLHF_BENCH_05B !== '0';

/**
 * `entry` bundled as the product bundles its workers (scripts/bundle-options.mjs) into a .cjs, to run
 * under plain node: a child measured for speed or memory runs as the refiner worker does, not through
 * tsx, whose on-the-fly compiler added about 120 MB to our child's peak RSS and slowed its decode
 * (BENCHMARKS.md, llama.cpp peer).
 */
export async function bundledScript(entry: string, external: string[] = []): Promise<string> {
  const esbuild = await import('esbuild');
  const { nodeBundle } = await import('../scripts/bundle-options.mjs');
  // Inside node_modules, so the bundle resolves the external packages as the product's out/ does.
  const outfile = join(__dirname, '..', 'node_modules', '.cache', 'slhf-bench', `${basename(entry).replace(/\.ts$/, '')}.cjs`);
  await esbuild.build({ ...nodeBundle, external: [...nodeBundle.external, ...external], entryPoints: [entry], outfile });
  return outfile;
}
