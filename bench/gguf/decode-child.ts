// One engine's greedy decoding in a process of its own, so that its peak RSS is its own: started by
// bench/llama.bench.ts as `node --import tsx bench/gguf/decode-child.ts '<DecodeJob JSON>'`; prints
// one DecodeResult JSON line. Ours is the refiner's own path (ModelHost loads the export with the
// refiner's thread setting, generateText decodes it); llama.cpp gets the same prompt token ids.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PromptParts } from '../../src/base/generation-record';
import { generateText } from '../../src/refiner/generate';
import { ModelHost } from '../../src/refiner/host';
import { FIXTURE_ROOT } from '../inference-fixtures';
import { loadLlamaCpp } from './llama-cpp';

interface Common {
  threads: number;
  /** Timed runs after one warm-up. */
  runs: number;
  newTokens: number;
  /** The prompt's token ids (ours renders `parts` itself and must arrive at the same ids). */
  promptIds: number[];
}
export type DecodeJob =
  | (Common & { engine: 'ours'; dir: string; parts: PromptParts })
  | (Common & { engine: 'llama.cpp'; gguf: string; contextSize: number });

export interface DecodeRun {
  /** Prompt in, first token out (ours: includes rendering and tokenizing the prompt). */
  ttftMs: number;
  /** From the first token to the last. */
  decodeMs: number;
  tokens: number;
  /** CPU time of the whole process over the run (all its threads). */
  cpuMs: number;
}

export interface DecodeResult {
  runs: DecodeRun[];
  /** The first timed run's tokens. */
  tokens: number[];
  /** VmHWM: the process's peak resident memory, loading included. */
  peakRssMb: number;
  loadMs: number;
}

const WARMUP_TOKENS = 8;

function peakRssMb(): number {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  return line ? Number(line.split(/\s+/)[1]) / 1024 : NaN;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** A short warm-up (the first pass allocates and prepacks), then the timed runs; the tokens are the first timed run's. */
async function timedRuns(job: DecodeJob, once: (count: number) => Promise<{ tokens: number[]; ttftMs: number; decodeMs: number }>): Promise<{ runs: DecodeRun[]; tokens: number[] }> {
  await once(WARMUP_TOKENS);
  const runs: DecodeRun[] = [];
  let tokens: number[] = [];
  for (let i = 0; i < job.runs; i++) {
    const cpu = cpuMs();
    const r = await once(job.newTokens);
    if (i === 0) tokens = r.tokens;
    runs.push({ ttftMs: r.ttftMs, decodeMs: r.decodeMs, tokens: r.tokens.length, cpuMs: cpuMs() - cpu });
  }
  return { runs, tokens };
}

async function ours(job: Extract<DecodeJob, { engine: 'ours' }>): Promise<DecodeResult> {
  const start = performance.now();
  const host = new ModelHost({ cacheDir: join(FIXTURE_ROOT, 'refiner-cache'), idleUnloadMs: 0, threads: job.threads });
  host.configure({ follower: { spec: job.dir } });
  let loadMs = 0;
  const result = await host.use('follower', async (model) => {
    loadMs = performance.now() - start;
    return timedRuns(job, async (count) => {
      const r = await generateText(model, {
        role: 'follower', round: 1, prompt: job.parts, original: job.parts.refined ?? '',
        settings: { maxNewTokens: count, temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, seed: 1 },
      });
      if (JSON.stringify(r.prompt.tokenIds) !== JSON.stringify(job.promptIds)) throw new Error('our rendered prompt differs from the ids llama.cpp is given');
      const ttftMs = r.timings.firstTokenMs ?? r.timings.totalMs;
      return { tokens: r.tokenIds, ttftMs, decodeMs: r.timings.totalMs - ttftMs };
    });
  });
  return { ...result, peakRssMb: peakRssMb(), loadMs };
}

async function llamaCpp(job: Extract<DecodeJob, { engine: 'llama.cpp' }>): Promise<DecodeResult> {
  const start = performance.now();
  const llama = await loadLlamaCpp(job.gguf, { threads: job.threads, contextSize: job.contextSize });
  const loadMs = performance.now() - start;
  try {
    const result = await timedRuns(job, (count) => llama.greedy(job.promptIds, count));
    return { ...result, peakRssMb: peakRssMb(), loadMs };
  } finally {
    await llama.dispose();
  }
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]) as DecodeJob;
  const result = job.engine === 'ours' ? await ours(job) : await llamaCpp(job);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
