// `npm run bench:slhf [-- --seeds 1,2,3 --steps 100 --parts intransitive,refinement --threads N --model DIR]`:
// the paper's three claims (arXiv 2512.16626) at tiny scale on the built-in model, with a simulated
// judge of three annotators (bench/slhf/judge.ts): (1) intransitive preferences, SLHF against
// Bradley-Terry/DPO baselines at an equal judge budget, measured exactly; (2) iterative refinement
// on a task with typos; (3) transfer of a trained Follower to Leaders it never trained with.
// Prints the tables (mean and spread over seeds) and writes bench/results/slhf.svg and
// bench/results/slhf-<date>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loraFeeds } from '../src/models/graphs';
import { initLoraAdapter, type LoraConfig } from '../src/models/lora';
import { defaultModelDir } from '../src/models/default-model';
import { trainOnline } from '../src/training/online';
import { Policy } from '../src/training/policy';
import { Sampler } from '../src/training/sampler';
import { zeroAdapter } from '../src/training/trainer';
import { machineDescription } from './framework';
import { slhfSettings, type BenchTraining } from './slhf/estimators';
import { mean, onlineTask, sd, type Players } from './slhf/game';
import { INTRANSITIVE_METHODS, maxStemTokens, runIntransitive, type IntransitiveRun } from './slhf/intransitive';
import { loadBenchModel, warmStart } from './slhf/model';
import { slhfPlot, type Series } from './slhf/plot';
import { iterate, transferMatrix, type IterationResult, type Player } from './slhf/refinement';
import { HELD_OUT_STEMS, TRAIN_STEMS, typoDrafts, withEnding } from './slhf/tasks';
import { ENDINGS } from './slhf/judge';

const LORA: LoraConfig = { rank: 8, alpha: 16, dropout: 0, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] };
const ROUNDS = 4;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string', default: '1,2,3' },
      steps: { type: 'string', default: '100' },
      parts: { type: 'string', default: 'intransitive,refinement' },
      methods: { type: 'string', default: INTRANSITIVE_METHODS.join(',') },
      lr: { type: 'string', default: '3e-3' },
      temperature: { type: 'string', default: '0.9' },
      threads: { type: 'string' },
      model: { type: 'string' },
    },
  });
  const started = performance.now();
  const log = (m: string) => console.error(`[${((performance.now() - started) / 1000).toFixed(0)} s, load ${loadavg()[0].toFixed(1)}] ${m}`);
  const seeds = values.seeds.split(',').map(Number);
  const parts = values.parts.split(',');
  const methods = values.methods.split(',') as IntransitiveRun['method'][];
  const threads = values.threads ? Number(values.threads) : undefined;
  const temperature = Number(values.temperature);
  const training = (seed: number): BenchTraining => ({
    lora: LORA, lr: Number(values.lr), steps: Number(values.steps), prompts: 8, drafts: 1, refinements: 4, beta: 1e-3, seed, threads, every: 20,
  });

  const { model, weights } = await loadBenchModel(values.model ?? defaultModelDir());
  const warm = await warmStart(model, weights, TRAIN_STEMS, { steps: 120, lora: LORA, seed: 0, threads });
  log('warm start done');
  const policy = await Policy.create(model.config, warm, { lora: LORA, intraOpThreads: threads });
  const sampler = await Sampler.create(model.config, warm, LORA, threads);
  const builtIn = await Sampler.create(model.config, weights, LORA, threads);
  const p: Players = { model, policy, sampler, temperature, log };
  const zero = loraFeeds(zeroAdapter(initLoraAdapter(model.config, LORA, 0)), 'float32');

  const intransitive: IntransitiveRun[] = [];
  const iterations: IterationResult[][] = [];
  const transfers: number[][][] = [];
  const players = ['built-in', 'warm start', 'SLHF-trained'];
  const typoTrain = typoDrafts(TRAIN_STEMS, 96, 7).map((d) => ({ x: d.typo, clean: d.clean }));
  const typoHeldOut = typoDrafts(HELD_OUT_STEMS, 120, 11);
  const maxTokens = maxStemTokens(p) + 8;
  try {
    for (const seed of seeds) {
      if (parts.includes('intransitive')) {
        // SLHF first: its measured judge calls are the budget of the DPO baselines.
        let budget = 0;
        for (const method of methods) {
          const run = await runIntransitive(p, method, training(seed), budget);
          if (method === 'slhf' || budget === 0) budget = run.judgeCalls;
          intransitive.push({ ...run, adapter: undefined as never });
        }
      }
      if (parts.includes('refinement')) {
        // One SLHF run (shared adapter) on the typo task; its Leader and Follower join the players.
        const task = onlineTask(p, typoTrain, maxTokens);
        const t0 = performance.now();
        const trained = await trainOnline(policy, sampler, task, slhfSettings(training(seed), true), {}, initLoraAdapter(model.config, LORA, seed));
        log(`typo task: SLHF seed ${seed} trained in ${((performance.now() - t0) / 1000).toFixed(0)} s, ${task.judge.calls} judge calls`);
        const roster: Player[] = [
          { name: players[0], sampler: builtIn, lora: zero },
          { name: players[1], sampler, lora: zero },
          { name: players[2], sampler, lora: loraFeeds(trained.adapter, 'float32') },
        ];
        const cases = typoHeldOut.map((d) => ({ x: d.typo, text: withEnding(d.typo, d.ending), clean: d.clean }));
        const perFollower: IterationResult[] = [];
        for (const f of roster) perFollower.push(await iterate(model, f, cases, ROUNDS, temperature, maxTokens, seed));
        iterations.push(perFollower);
        transfers.push(await transferMatrix(model, roster, roster, typoHeldOut.map((d) => ({ x: d.typo, clean: d.clean })), temperature, maxTokens, seed));
        log(`typo task: seed ${seed} measured`);
      }
    }
  } finally {
    await policy.release();
    await sampler.release();
    await builtIn.release();
  }

  const date = new Date().toISOString();
  const pm = (xs: number[]) => `${mean(xs).toFixed(3)} ± ${sd(xs).toFixed(3)}`;
  console.log(`${date}  ${machineDescription()}  load average at the end ${loadavg()[0].toFixed(2)}  total ${((performance.now() - started) / 60000).toFixed(1)} min`);
  console.log(`seeds ${seeds.join(', ')}; ${values.steps} steps per run; temperature ${temperature}; mean ± sd over seeds`);
  if (intransitive.length) {
    console.log('\n1. Intransitive endings (held-out stems): the Follower\'s exact E[1-p] (optimum 0.667; ignoring the draft: at most 0.5)');
    console.log(`| method | judge calls | E[1-p] | best response to ${ENDINGS.map((e) => `'${e}'`).join(' / ')} | copies | other answers | seconds |`);
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const method of methods) {
      const runs = intransitive.filter((r) => r.method === method);
      const br = ENDINGS.map((_, e) => mean(runs.map((r) => r.final.bestResponse[e])).toFixed(2)).join(' / ');
      const cp = ENDINGS.map((_, e) => mean(runs.map((r) => r.final.copy[e])).toFixed(2)).join(' / ');
      console.log(`| ${method} | ${mean(runs.map((r) => r.judgeCalls)).toFixed(0)} | ${pm(runs.map((r) => r.final.score))} | ${br} | ${cp} | ${mean(runs.map((r) => r.final.other)).toFixed(3)} | ${mean(runs.map((r) => r.seconds)).toFixed(0)} |`);
    }
    console.log(`warm start (every method's start): E[1-p] ${mean(intransitive.map((r) => r.curve[0].value)).toFixed(3)}`);
  }
  if (iterations.length) {
    console.log(`\n2. Iterative refinement of ${typoHeldOut.length} held-out typo drafts, rounds 1..${ROUNDS}`);
    console.log(`| Follower | judge | ${Array.from({ length: ROUNDS }, (_, k) => `k=${k + 1}: over k-1 / over draft`).join(' | ')} |`);
    console.log(`| --- | --- | ${Array.from({ length: ROUNDS }, () => '---:').join(' | ')} |`);
    for (let f = 0; f < players.length; f++) {
      for (const part of ['transitive', 'full'] as const) {
        const cell = (k: number) => `${mean(iterations.map((s) => s[f][part].overPrevious[k])).toFixed(2)} / ${mean(iterations.map((s) => s[f][part].overDraft[k])).toFixed(2)} ± ${sd(iterations.map((s) => s[f][part].overDraft[k])).toFixed(2)}`;
        console.log(`| ${players[f]} | ${part === 'full' ? 'full' : 'typos only'} | ${Array.from({ length: ROUNDS }, (_, k) => cell(k)).join(' | ')} |`);
      }
    }
    console.log(`\n3. Transfer: win rate of the Follower's refinement over the Leader's draft (${typoHeldOut.length} held-out typo instructions, full judge)`);
    console.log(`| Leader \\ Follower | ${players.join(' | ')} |`);
    console.log(`| --- | ${players.map(() => '---:').join(' | ')} |`);
    players.forEach((l, i) => console.log(`| ${l} | ${players.map((_, j) => pm(transfers.map((m) => m[i][j]))).join(' | ')} |`));
  }

  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const strip = intransitive.map(({ adapter: _a, ...r }) => r);
  writeFileSync(join(dir, `slhf-${date.replace(/[:.]/g, '-')}.json`), JSON.stringify({ date, machine: machineDescription(), values, intransitive: strip, iterations, transfers, players }, null, 2));
  const series: Series[] = methods.filter((m) => intransitive.some((r) => r.method === m)).map((m) => {
    const runs = intransitive.filter((r) => r.method === m);
    return { name: m, x: runs[0].curve.map((c) => c.step), values: runs[0].curve.map((_, j) => runs.map((r) => r.curve[j].value)) };
  });
  const iterSeries: Series[] = iterations.length ? players.map((name, f) => ({
    name: `${name} (typos only)`, x: [0, ...Array.from({ length: ROUNDS }, (_, k) => k + 1)],
    values: [iterations.map(() => 0.5), ...Array.from({ length: ROUNDS }, (_, k) => iterations.map((s) => s[f].transitive.overDraft[k]))],
  })) : [];
  const transfer = transfers.length ? { leaders: players, followers: players, values: players.map((_, i) => players.map((_, j) => mean(transfers.map((m) => m[i][j])))) } : null;
  writeFileSync(join(dir, 'slhf.svg'), slhfPlot({ intransitive: series, iterations: iterSeries, transfer }));
  console.log(`\nwrote ${join(dir, 'slhf.svg')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
