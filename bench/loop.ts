// `npm run bench:loop [-- --decisions N --every K --rounds R --logprob-temperature sampled|1 --users a,b --seeds 1,2 --model DIR]`: the closed
// loop with simulated users (bench/loop/users.ts) for SLHF and a DPO (Bradley–Terry) baseline
// trained on the same pairs with the same steps; prints a table of acceptance per block (the mean
// over the seeds: each seed its own drafts, coin flips and training order) and writes
// bench/results/loop.svg and loop-<date>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadCorpus } from '../lab/corpus';
import { defaultModelDir } from '../src/models/default-model';
import { acceptancePlot } from './loop/plot';
import { runLoop, type LoopOptions, type LoopResult, type Method } from './loop/simulate';
import { britishUser, cyclicUser, tidyUser, type SimulatedUser } from './loop/users';
import { machineDescription } from './framework';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      decisions: { type: 'string', default: '96' },
      every: { type: 'string', default: '16' },
      rounds: { type: 'string', default: '2' },
      'logprob-temperature': { type: 'string', default: 'sampled' },
      users: { type: 'string', default: 'british,tidy,cyclic' },
      model: { type: 'string' },
      temperature: { type: 'string', default: '0.3' },
      seeds: { type: 'string', default: '1,2' },
      threads: { type: 'string' },
    },
  });
  const sentences = loadCorpus().heldOut;
  const all: SimulatedUser[] = [britishUser, tidyUser(sentences), cyclicUser(sentences)];
  const users = values.users.split(',').map((name) => {
    const u = all.find((x) => x.name === name);
    if (!u) throw new Error(`unknown user ${name}; known: ${all.map((x) => x.name).join(', ')}`);
    return u;
  });
  const logprobTemperature = values['logprob-temperature'];
  if (logprobTemperature !== 'sampled' && logprobTemperature !== '1') throw new Error(`--logprob-temperature must be sampled or 1, got ${logprobTemperature}`);
  const options: LoopOptions = {
    modelDir: values.model ?? defaultModelDir(),
    workDir: join(tmpdir(), 'slhf-bench-loop'),
    decisions: Number(values.decisions),
    every: Number(values.every),
    temperature: Number(values.temperature),
    rounds: Number(values.rounds),
    logprobTemperature: logprobTemperature === '1' ? 1 : 'sampled',
    editRate: 0.5,
    seed: 0,
    train: { lora: { rank: 8, alpha: 16, dropout: 0, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] }, lr: 1e-3, epochs: 4, batchSize: 8, warmupSteps: 5, intraOpThreads: values.threads ? Number(values.threads) : undefined },
    dpoBeta: 0.1,
    log: (m) => console.error(m),
  };
  const seeds = values.seeds.split(',').map(Number);
  const runs: LoopResult[] = [];
  const results: LoopResult[] = [];
  for (const user of users) {
    for (const method of ['slhf', 'dpo'] as Method[]) {
      const mine: LoopResult[] = [];
      for (const seed of seeds) mine.push(await runLoop(user, method, { ...options, seed }));
      runs.push(...mine);
      results.push(meanOverSeeds(mine));
    }
  }

  const blocks = Math.max(...results.map((r) => r.acceptance.length));
  const head = ['user', 'method', ...Array.from({ length: blocks }, (_, b) => `${b * options.every + 1}-${(b + 1) * options.every}`), `mean 2-${blocks}`, 'pairs', 'train s'];
  const rows = results.map((r) => [r.user, r.method, ...r.acceptance.map((a) => a.toFixed(2)), trainedMean(r).toFixed(2), r.pairs.toFixed(0), r.trainSeconds.toFixed(0)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  const date = new Date().toISOString();
  console.log(`${date}  ${machineDescription()}  load average ${loadavg()[0].toFixed(2)}`);
  console.log(`acceptance rate per block of ${options.every} decisions (block 1: before any training), mean over seeds ${seeds.join(', ')}, ${options.rounds} round(s), temperature ${options.temperature}, SLHF log-probs at ${options.logprobTemperature === 1 ? 'temperature 1' : 'the sampling temperature'}`);
  console.log([line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
  for (const user of users) {
    const [s, d] = (['slhf', 'dpo'] as Method[]).map((m) => results.find((r) => r.user === user.name && r.method === m)!);
    const last = (r: LoopResult) => r.acceptance[r.acceptance.length - 1];
    console.log(`${user.name} (${user.taste}): SLHF ${s.acceptance[0].toFixed(2)} -> ${last(s).toFixed(2)} (trained blocks ${trainedMean(s).toFixed(2)}), DPO ${d.acceptance[0].toFixed(2)} -> ${last(d).toFixed(2)} (trained blocks ${trainedMean(d).toFixed(2)})`);
  }
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `loop-${date.replace(/[:.]/g, '-')}.json`), JSON.stringify({ date, options: { ...options, seed: undefined, seeds, log: undefined }, results, runs }, null, 2));
  writeFileSync(join(dir, 'loop.svg'), acceptancePlot(results, options.every, Object.fromEntries(users.map((u) => [u.name, u.taste]))));
  console.log(`wrote ${join(dir, 'loop.svg')}`);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Acceptance per block, pairs and training seconds, averaged over runs of one user and method. */
function meanOverSeeds(runs: LoopResult[]): LoopResult {
  const blocks = Math.min(...runs.map((r) => r.acceptance.length));
  return {
    ...runs[0],
    acceptance: Array.from({ length: blocks }, (_, b) => mean(runs.map((r) => r.acceptance[b]))),
    pairs: mean(runs.map((r) => r.pairs)),
    trainSeconds: mean(runs.map((r) => r.trainSeconds)),
    adapterDir: null,
  };
}

/** Mean acceptance over the blocks after the first training. */
const trainedMean = (r: LoopResult) => mean(r.acceptance.slice(1));

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
