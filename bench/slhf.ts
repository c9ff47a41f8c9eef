// `npm run bench:slhf [-- --seeds 1,2,3 --steps 80 --jobs 3 --parts intransitive,refinement --model DIR]`
// (`-- --report bench/results/slhf-<date>.json` prints a saved run's tables and redraws its figure):
// the paper's three claims (arXiv 2512.16626) at tiny scale on the built-in model, with a simulated
// judge of three annotators (bench/slhf/judge.ts): (1) intransitive preferences, SLHF against
// Bradley-Terry/DPO baselines at an equal judge budget, measured exactly; (2) iterative refinement
// on a task with typos; (3) transfer of a trained Follower to Leaders it never trained with.
// Seeds run in `jobs` worker processes (one ONNX Runtime thread each by default: on a busy shared
// machine that keeps the run's share of the cores); prints the tables (mean and spread over seeds)
// and writes bench/results/slhf.svg and bench/results/slhf-<date>.json.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultModelDir } from '../src/models/default-model';
import { machineDescription } from './framework';
import { INTRANSITIVE_METHODS, type IntransitiveMethod } from './slhf/intransitive';
import { loadBenchModel, warmStart } from './slhf/model';
import { figure, tables } from './slhf/report';
import { LORA, runSeed, WARM_START_STEPS, type SeedOptions, type SeedResult } from './slhf/seed';
import { TRAIN_STEMS } from './slhf/tasks';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1,2,3' },
    steps: { type: 'string', default: '80' },
    parts: { type: 'string', default: 'intransitive,refinement' },
    methods: { type: 'string', default: INTRANSITIVE_METHODS.join(',') },
    lr: { type: 'string', default: '3e-3' },
    temperature: { type: 'string', default: '0.9' },
    cases: { type: 'string', default: '64' },
    jobs: { type: 'string', default: '3' },
    // The DPO baselines' judge calls when the methods leave out slhf (which measures them).
    budget: { type: 'string' },
    threads: { type: 'string' },
    model: { type: 'string' },
    // Print the tables and redraw bench/results/slhf.svg from a saved slhf-<date>.json.
    report: { type: 'string' },
    // Internal: run one seed and write its result as JSON.
    worker: { type: 'string' },
    out: { type: 'string' },
  },
});

const started = performance.now();
const log = (m: string) => console.error(`[${((performance.now() - started) / 1000).toFixed(0)} s, load ${loadavg()[0].toFixed(1)}] ${m}`);
const jobs = Number(values.jobs);
const threads = values.threads ? Number(values.threads) : jobs > 1 ? 1 : undefined;
const modelDir = values.model ?? defaultModelDir();
const methods = values.methods.split(',') as IntransitiveMethod[];

const seedOptions = (seed: number): SeedOptions => ({
  modelDir, seed, parts: values.parts.split(','), methods, temperature: Number(values.temperature), cases: Number(values.cases), log,
  budget: values.budget ? Number(values.budget) : undefined,
  training: { lora: LORA, lr: Number(values.lr), steps: Number(values.steps), prompts: 8, drafts: 1, refinements: 4, beta: 1e-3, followerBeta: null, followerWeight: 5, threads, every: 10 },
});

/** Runs one seed in a child process (the same script with --worker) and reads its result. */
function seedInWorker(seed: number): Promise<SeedResult> {
  const out = join(tmpdir(), `slhf-bench-seed-${process.pid}-${seed}.json`);
  const args = ['--import', 'tsx', __filename, ...Object.entries(values).filter(([k, v]) => v !== undefined && k !== 'seeds').flatMap(([k, v]) => [`--${k}`, String(v)]), '--worker', String(seed), '--out', out];
  if (threads !== undefined && values.threads === undefined) args.push('--threads', String(threads));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(readFileSync(out, 'utf8')) as SeedResult) : reject(new Error(`seed ${seed}: worker exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  if (values.report) {
    const saved = JSON.parse(readFileSync(values.report, 'utf8')) as { options: typeof values; results: SeedResult[] };
    const savedMethods = saved.options.methods.split(',') as IntransitiveMethod[];
    console.log(tables(saved.results, savedMethods, Number(saved.options.cases)));
    writeFileSync(join(__dirname, 'results', 'slhf.svg'), figure(saved.results, savedMethods));
    return;
  }
  if (values.worker) {
    const result = await runSeed(seedOptions(Number(values.worker)));
    writeFileSync(values.out!, JSON.stringify(result));
    return;
  }
  const seeds = values.seeds.split(',').map(Number);
  const loadAtStart = loadavg()[0];
  // The warm start once, before the workers (they load it from its cache).
  const { model, weights } = await loadBenchModel(modelDir);
  const { cached } = await warmStart(model, weights, TRAIN_STEMS, { steps: WARM_START_STEPS, lora: LORA, seed: 0, threads: values.threads ? Number(values.threads) : undefined });
  log(`warm start ${cached ? 'loaded from its cache' : 'trained'}; ${seeds.length} seeds in ${Math.min(jobs, seeds.length)} worker processes, ${threads ?? 'default'} ORT thread(s) each`);
  const results: SeedResult[] = [];
  const queue = [...seeds];
  await Promise.all(Array.from({ length: Math.min(jobs, seeds.length) }, async () => {
    while (queue.length) results.push(await seedInWorker(queue.shift()!));
  }));
  results.sort((a, b) => a.seed - b.seed);

  const date = new Date().toISOString();
  const minutes = (performance.now() - started) / 60000;
  console.log(`${date}  ${machineDescription()}  load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end; ${minutes.toFixed(1)} min in all`);
  console.log(`seeds ${seeds.join(', ')}; ${values.steps} optimizer steps per training run; sampling temperature ${values.temperature}; lr ${values.lr}\n`);
  console.log(tables(results, methods, Number(values.cases)));
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `slhf-${date.replace(/[:.]/g, '-')}.json`), JSON.stringify({ date, machine: machineDescription(), minutes, loadAtStart, options: values, results }, null, 2));
  writeFileSync(join(dir, 'slhf.svg'), figure(results, methods));
  console.log(`\nwrote ${join(dir, 'slhf.svg')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
