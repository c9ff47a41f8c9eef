// The machine's limits, measured in the same run as the other benches: memory copy bandwidth (bounds
// decoding, which streams every weight once per token) and float32 GEMM throughput (bounds prefill and
// training). Ours: a Float32Array copy in Node and a MatMul graph on ORT CPU; peer: torch's copy_ and
// matmul (OpenBLAS) at the same threads. The limit taken is the better of the two sides, each at its
// fastest iteration: other processes only ever slow a measurement down, and a limit is what the
// machine can reach.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../src/onnx';
import { seededRandom } from '../src/base/seeded-random';
import { type BenchContext, type BenchRow, PYTHON, OPENBLAS_HINT, peerEnv, torchPeer } from './framework';

/** Far beyond any cache, so the copy measures DRAM. */
const COPY_BYTES = 256 * 2 ** 20;
/** A prefill-like product: 512 rows through a 1024 x 4096 weight. */
const GEMM: [number, number, number] = [512, 1024, 4096];

export interface HardwareLimits {
  /** Bytes moved per second (read + written), the best of ours and the peer. */
  bandwidth: number;
  /** float32 multiply-adds x 2 per second, the best of ours and the peer. */
  flops: number;
  rows: BenchRow[];
}

/** The fastest of `iterations` timed calls after 2 untimed ones (which also fault pages in), in ms. */
async function bestMs(action: () => unknown, iterations: number): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < iterations + 2; i++) {
    const start = performance.now();
    await action();
    if (i >= 2) best = Math.min(best, performance.now() - start);
  }
  return best;
}

async function copyGbs(iterations: number): Promise<number> {
  const src = new Float32Array(COPY_BYTES / 4).fill(1);
  const dst = new Float32Array(COPY_BYTES / 4);
  return (2 * COPY_BYTES) / (await bestMs(() => dst.set(src), iterations) / 1000) / 1e9;
}

async function ortGemmGflops(context: BenchContext): Promise<number> {
  const [m, k, n] = GEMM;
  const rand = seededRandom(11);
  const g = new E.Graph('gemm');
  const b = g.initializer('b', 'float32', [k, n], Float32Array.from({ length: k * n }, () => rand()));
  g.output(E.matmul(g.input('a', 'float32', [m, k]), b), 'c');
  const session = await E.createSession(E.serialize(g), { device: 'cpu', intraOpThreads: context.threads, interOpThreads: 1 });
  const a = Float32Array.from({ length: m * k }, () => rand());
  try {
    const ms = await bestMs(() => session.run({ a: { dtype: 'float32', data: a, dims: [m, k] } }), context.iterations);
    return (2 * m * k * n) / (ms / 1000) / 1e9;
  } finally {
    await session.release();
  }
}

interface PeerResult { copy_gbs: number; gemm_gflops: number; blas: string }

function runPeer(context: BenchContext): PeerResult {
  const dir = mkdtempSync(join(tmpdir(), 'bench-hw-'));
  try {
    const manifest = join(dir, 'manifest.json');
    writeFileSync(manifest, JSON.stringify({ threads: context.threads, iterations: context.iterations, copy_bytes: COPY_BYTES, gemm: GEMM }));
    return JSON.parse(execFileSync(PYTHON, [join(__dirname, 'peers', 'hardware.py'), manifest], { encoding: 'utf8', env: peerEnv(context.threads) })) as PeerResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(context: BenchContext): Promise<HardwareLimits> {
  context.log('measuring copy bandwidth and GEMM throughput...');
  const ours = { copy: await copyGbs(context.iterations), gemm: await ortGemmGflops(context) };
  const torch = torchPeer();
  const peer = torch.ok ? runPeer(context) : null;
  const blas = peer ? `torch ${torch.ok ? torch.version : ''} with ${peer.blas} BLAS${peer.blas === 'openblas' ? '' : ` (${OPENBLAS_HINT})`}` : torch.ok ? '' : torch.reason;
  const rows: BenchRow[] = [
    { name: 'hardware: memory copy bandwidth', ours: ours.copy, peer: peer?.copy_gbs ?? null, unit: 'GB/s', higherIsBetter: true,
      note: `best of ${context.iterations}; ${COPY_BYTES / 2 ** 20} MiB float32 copy, bytes read + written; ours Float32Array.set (one thread), peer torch copy_ (${context.threads} threads); ${blas}` },
    { name: 'hardware: GEMM float32', ours: ours.gemm, peer: peer?.gemm_gflops ?? null, unit: 'GFLOP/s', higherIsBetter: true,
      note: `best of ${context.iterations}; ${GEMM.join(' x ')} MatMul; ours ORT CPU, peer torch.matmul; ${context.threads} threads each` },
  ];
  return { bandwidth: Math.max(ours.copy, peer?.copy_gbs ?? 0) * 1e9, flops: Math.max(ours.gemm, peer?.gemm_gflops ?? 0) * 1e9, rows };
}

let measured: Promise<HardwareLimits> | undefined;
let reported = false;

/** Measured once per bench run; the inference bench derives its limits from the same figures. */
export function hardwareLimits(context: BenchContext): Promise<HardwareLimits> {
  measured ??= measure(context);
  return measured;
}

/** The hardware rows, the first time they are asked for: in the table once, whichever bench asks first. */
export async function hardwareRowsOnce(context: BenchContext): Promise<BenchRow[]> {
  const { rows } = await hardwareLimits(context);
  if (reported) return [];
  reported = true;
  return rows;
}

export const run = hardwareRowsOnce;
