// Refinement throughput with copy-aware speculation (issue 20): output tokens per second of a
// realistic refinement (a 100-word paragraph with a few errors, one Follower round through the
// refiner's own loop), with speculation off (SLHF_DRAFT_TOKENS=0; the "peer" column) and on, runs
// interleaved; the acceptance rate and tokens per pass; a sweep of the draft length. On the
// Qwen2.5-0.5B shape (random weights, so its drafts are rejected: what speculation costs when it
// does not help), the same refinement, the cost of one verifying pass per draft length k, and decode
// ms/token at 128, 1,024 and 4,096 tokens of context (unless SLHF_BENCH_05B=0). The built-in model's
// context rows show what grows with context on a model whose weights cost little.
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { defaultModelDir } from '../src/models/default-model';
import { type StepCounters } from '../src/refiner/generate';
import { ModelHost } from '../src/refiner/host';
import { KvDecoder } from '../src/refiner/kv-decoder';
import { refine } from '../src/refiner/loop';
import { DEFAULT_DRAFT_TOKENS } from '../src/refiner/speculation';
import { type BenchContext, type BenchRow, median, withHalfBillionShape } from './framework';
import { ensureFixture, FIXTURE_ROOT, QWEN_05B_FIXTURE } from './inference-fixtures';

/** 101 words, seven errors: two doubled words, then/than, two misspellings, two missing capitals. */
export const PARAGRAPH =
  'Last week our team moved the the build servers to the new data centre. The migration took longer then we planned, ' +
  'because two of the machines had a faulty network card and had to be replaced. Most of the services came back within an ' +
  'hour, but the test database was unavailable untill friday morning. We are sorry for the disruption this caused. Next ' +
  'time we will anounce maintenance windows at least three days in advance, and we will keep a spare card on site. if you ' +
  'still see errors when you run the the nightly jobs, please open a ticket and include the log file.';

interface Run { ms: number; tokens: number; text: string; counters: Required<StepCounters> }

async function refineOnce(host: ModelHost, draftTokens: number, maxNewTokens: number): Promise<Run> {
  const before = process.env.SLHF_DRAFT_TOKENS;
  process.env.SLHF_DRAFT_TOKENS = String(draftTokens);
  const counters: StepCounters = { steps: 0, stepsAfterAbort: 0 };
  try {
    const t0 = performance.now();
    let text = '';
    let tokens = 0;
    // The model's own throughput: Harper's first pass (built-in model only) is not decoding.
    for await (const e of refine(host, { draft: PARAGRAPH, rounds: 1, languageId: 'markdown', harperFirstPass: false, settings: { seed: 1, temperature: 0, maxNewTokens } }, undefined, counters)) {
      if (e.type === 'round-end') {
        text = e.result.text;
        tokens = e.result.timings.tokens ?? e.result.tokenIds.length;
      }
    }
    return { ms: performance.now() - t0, tokens, text, counters: { verifySteps: 0, drafted: 0, accepted: 0, ...counters } };
  } finally {
    if (before === undefined) delete process.env.SLHF_DRAFT_TOKENS;
    else process.env.SLHF_DRAFT_TOKENS = before;
  }
}

const tokensPerSecond = (r: Run) => r.tokens / (r.ms / 1000);
const range = (values: number[]) => `${Math.min(...values).toFixed(1)}-${Math.max(...values).toFixed(1)}`;

/** Plain and speculative refinements interleaved; rows for throughput, acceptance and passes. */
async function throughputRows(label: string, host: ModelHost, k: number, runs: number, maxNewTokens: number, log: (m: string) => void): Promise<{ rows: BenchRow[]; spec: Run }> {
  await refineOnce(host, 0, maxNewTokens); // warm-up: load, first-call costs
  const plain: Run[] = [];
  const spec: Run[] = [];
  for (let i = 0; i < runs; i++) {
    plain.push(await refineOnce(host, 0, maxNewTokens));
    spec.push(await refineOnce(host, k, maxNewTokens));
    log(`${label}: run ${i + 1}/${runs}: plain ${tokensPerSecond(plain[i]).toFixed(1)} tok/s, k=${k} ${tokensPerSecond(spec[i]).toFixed(1)} tok/s (load ${loadavg()[0].toFixed(1)})`);
  }
  const same = spec.every((r) => r.text === plain[0].text && r.tokens === plain[0].tokens);
  const s = spec[0].counters;
  const rows: BenchRow[] = [
    {
      name: `${label}: refinement throughput, speculation k=${k} (peer: off)`, ours: median(spec.map(tokensPerSecond)), peer: median(plain.map(tokensPerSecond)),
      unit: 'output tokens/s', higherIsBetter: true,
      note: `${plain[0].tokens} output tokens; ${runs} interleaved runs each, ranges on ${range(spec.map(tokensPerSecond))} off ${range(plain.map(tokensPerSecond))} tokens/s; ` +
        `text ${same ? 'identical' : 'DIFFERS'} with and without speculation`,
    },
    { name: `${label}: draft acceptance, k=${k}`, ours: s.drafted ? s.accepted / s.drafted : 0, peer: null, unit: 'accepted / drafted', higherIsBetter: true, note: `${s.accepted} of ${s.drafted} drafted tokens in ${s.verifySteps} verifying passes` },
    { name: `${label}: tokens per pass, k=${k}`, ours: spec[0].tokens / s.steps, peer: plain[0].tokens / plain[0].counters.steps, unit: 'tokens / forward pass', higherIsBetter: true },
  ];
  return { rows, spec: spec[0] };
}

interface PassTiming { wallMs: number; cpuMs: number }

/** One forward pass of 1 + k tokens after what the cache holds, then the cache cut back. */
async function timePass(decoder: KvDecoder, token: number, k: number): Promise<PassTiming> {
  const base = decoder.length;
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await decoder.forward(new Array(k + 1).fill(token));
  const wallMs = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  await decoder.truncate(base);
  return { wallMs, cpuMs: (used.user + used.system) / 1000 };
}

/**
 * Decode ms/token at growing contexts, and at the first one the cost of a verifying pass per k.
 * Under load wall times swing by 2x and more, so each verifying pass is timed right after a
 * one-token pass (pairs interleaved), and CPU time (all threads) is reported beside wall time.
 */
async function passRows(label: string, host: ModelHost, contexts: number[], ks: number[], repeats: number, log: (m: string) => void): Promise<BenchRow[]> {
  return host.use('follower', async (m) => {
    const ids: number[] = m.tokenizer.encode(PARAGRAPH.repeat(Math.ceil(contexts.at(-1)! / 60)), { add_special_tokens: false });
    const decoder = new KvDecoder(m.model.sessions.model, contexts.at(-1)! + Math.max(...ks) + 1); // as generateText makes it on the CPU
    const rows: BenchRow[] = [];
    try {
      for (const context of contexts) {
        const t0 = performance.now();
        await decoder.prefill(ids.slice(decoder.length, context));
        log(`${label}: cache at ${decoder.length} tokens (prefill ${((performance.now() - t0) / 1000).toFixed(1)} s, load ${loadavg()[0].toFixed(1)})`);
        const token = ids[context];
        await timePass(decoder, token, 0); // warm-up at this length
        if (context !== contexts[0]) {
          const singles: PassTiming[] = [];
          for (let i = 0; i < repeats; i++) singles.push(await timePass(decoder, token, 0));
          rows.push({
            name: `${label}: decode at ${context} tokens of context`, ours: median(singles.map((t) => t.wallMs)), peer: null, unit: 'ms/token',
            note: `CPU ${median(singles.map((t) => t.cpuMs)).toFixed(1)} ms/token (all threads); wall range ${range(singles.map((t) => t.wallMs))} ms; load ${loadavg()[0].toFixed(1)}`,
          });
          continue;
        }
        const allSingles: PassTiming[] = [];
        const verifyRows: BenchRow[] = [];
        for (const k of ks) {
          const pairs: [PassTiming, PassTiming][] = [];
          for (let i = 0; i < repeats; i++) pairs.push([await timePass(decoder, token, 0), await timePass(decoder, token, k)]);
          allSingles.push(...pairs.map(([single]) => single));
          const ratio = median(pairs.map(([a, b]) => b.wallMs / a.wallMs));
          const cpuRatio = median(pairs.map(([a, b]) => b.cpuMs / a.cpuMs));
          verifyRows.push({
            name: `${label}: verifying pass, k=${k} drafts (${context} cached)`, ours: median(pairs.map(([, b]) => b.wallMs)), peer: median(pairs.map(([a]) => a.wallMs)),
            unit: 'ms/pass (peer: 1 token)',
            note: `median of ${repeats} interleaved pairs: ${ratio.toFixed(2)}x a one-token pass by wall time, ${cpuRatio.toFixed(2)}x by CPU time (${median(pairs.map(([, b]) => b.cpuMs)).toFixed(1)} against ${median(pairs.map(([a]) => a.cpuMs)).toFixed(1)} ms); load ${loadavg()[0].toFixed(1)}`,
          });
        }
        rows.push({
          name: `${label}: decode at ${context} tokens of context`, ours: median(allSingles.map((t) => t.wallMs)), peer: null, unit: 'ms/token',
          note: `CPU ${median(allSingles.map((t) => t.cpuMs)).toFixed(1)} ms/token (all threads); wall range ${range(allSingles.map((t) => t.wallMs))} ms`,
        }, ...verifyRows);
      }
    } finally {
      decoder.dispose();
    }
    return rows;
  });
}

export async function run(context: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const runs = Math.max(3, Math.min(context.iterations, 5));
  const ks = [2, 4, DEFAULT_DRAFT_TOKENS, 16];
  /** Output tokens per forward pass (prefills included) of the built-in model's refinement, per k. */
  const perPass = new Map<number, number>();
  const builtIn = new ModelHost({ cacheDir: join(FIXTURE_ROOT, 'refiner-cache'), idleUnloadMs: 0, threads: context.threads });
  builtIn.configure({ follower: { spec: defaultModelDir() } });
  try {
    for (const k of ks) {
      const main = k === DEFAULT_DRAFT_TOKENS;
      const { rows: kRows, spec } = await throughputRows('built-in model', builtIn, k, main ? runs : Math.max(2, runs - 2), 256, context.log);
      rows.push(...(main ? kRows : kRows.slice(0, 2)));
      perPass.set(k, spec.tokens / spec.counters.steps);
    }
    rows.push(...(await passRows('built-in model', builtIn, [128, 1024, 4096], ks, 20, context.log)));
  } finally {
    await builtIn.unloadAll();
  }
  if (!withHalfBillionShape()) return rows;
  const { checkpoint } = await ensureFixture(QWEN_05B_FIXTURE, context.log);
  const big = new ModelHost({ cacheDir: join(FIXTURE_ROOT, 'refiner-cache'), idleUnloadMs: 0, threads: context.threads });
  big.configure({ follower: { spec: checkpoint } });
  const label = 'Qwen2.5-0.5B shape';
  try {
    const passes = await passRows(label, big, [128, 1024, 4096], ks, 5, context.log);
    rows.push(...passes);
    // Random weights copy nothing; a trained model of this shape would accept about as the built-in
    // model does: its tokens per pass over this shape's cost of a pass.
    for (const k of ks) {
      const verify = passes.find((r) => r.name.includes(`k=${k} drafts`))!;
      const [verifyMs, decodeMs] = [verify.ours, verify.peer!];
      rows.push({
        name: `${label}: projected refinement decode, k=${k}, built-in model's acceptance (peer: plain)`, ours: (perPass.get(k)! / verifyMs) * 1000, peer: 1000 / decodeMs,
        unit: 'output tokens/s', higherIsBetter: true, note: k === ks[0] ? `tokens per pass measured on the built-in model (${[...perPass].map(([kk, t]) => `k=${kk}: ${t.toFixed(2)}`).join(', ')}) over this shape's verifying-pass time at 128 tokens of context, against its one-token passes timed between them` : undefined,
      });
    }
    rows.push(...(await throughputRows(`${label} (random weights)`, big, DEFAULT_DRAFT_TOKENS, 2, 32, context.log)).rows);
  } finally {
    await big.unloadAll();
  }
  return rows;
}
