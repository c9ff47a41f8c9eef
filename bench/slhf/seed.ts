// Everything one seed measures: the intransitive methods, then one SLHF run on the typo task whose
// Leader and Follower join the built-in model and the warm start for claims 2 and 3.
import { loraFeeds } from '../../src/models/graphs';
import { initLoraAdapter, type LoraConfig } from '../../src/models/lora';
import { trainOnline } from '../../src/training/online';
import { Policy } from '../../src/training/policy';
import { Sampler } from '../../src/training/sampler';
import { zeroAdapter } from '../../src/training/trainer';
import { slhfSettings, type BenchTraining } from './estimators';
import { onlineTask, type Players } from './game';
import { maxStemTokens, runIntransitive, type IntransitiveMethod, type IntransitiveRun } from './intransitive';
import { loadBenchModel, warmStart } from './model';
import { iterate, transferMatrix, type IterationResult, type Player } from './refinement';
import { HELD_OUT_STEMS, TRAIN_STEMS, typoDrafts, withEnding } from './tasks';

export const LORA: LoraConfig = { rank: 8, alpha: 16, dropout: 0, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] };
export const WARM_START_STEPS = 120;
export const ROUNDS = 4;
/** Claims 2 and 3: the roster of players, as Leaders and as Followers. */
export const PLAYERS = ['built-in', 'warm start', 'SLHF-trained'];

export interface SeedOptions {
  modelDir: string;
  seed: number;
  parts: string[];
  methods: IntransitiveMethod[];
  training: Omit<BenchTraining, 'seed'>;
  temperature: number;
  /** Held-out typo drafts (claim 2) and instructions (claim 3). */
  cases: number;
  /** The DPO baselines' judge calls when SLHF does not run first to measure them. */
  budget?: number;
  log: (message: string) => void;
}

export interface SeedResult {
  seed: number;
  intransitive: Omit<IntransitiveRun, 'adapter'>[];
  /** Per player (PLAYERS order), or null when the part did not run. */
  iterations: IterationResult[] | null;
  /** [leader][follower] in PLAYERS order. */
  transfer: number[][] | null;
  typoJudgeCalls: number;
}

export async function runSeed(o: SeedOptions): Promise<SeedResult> {
  const { model, weights } = await loadBenchModel(o.modelDir);
  const threads = o.training.threads;
  const { weights: warm } = await warmStart(model, weights, TRAIN_STEMS, { steps: WARM_START_STEPS, lora: LORA, seed: 0, threads });
  const policy = await Policy.create(model.config, warm, { lora: LORA, intraOpThreads: threads });
  const sampler = await Sampler.create(model.config, warm, LORA, threads);
  const builtIn = await Sampler.create(model.config, weights, LORA, threads);
  const p: Players = { model, policy, sampler, temperature: o.temperature, log: o.log };
  const t: BenchTraining = { ...o.training, seed: o.seed };
  const result: SeedResult = { seed: o.seed, intransitive: [], iterations: null, transfer: null, typoJudgeCalls: 0 };
  try {
    if (o.parts.includes('intransitive')) {
      // SLHF first: its measured judge calls are the budget of the DPO baselines.
      let budget = o.budget ?? 0;
      for (const method of o.methods) {
        const { adapter: _trained, ...run } = await runIntransitive(p, method, t, budget);
        if (method === 'slhf' || budget === 0) budget = run.judgeCalls;
        result.intransitive.push(run);
      }
    }
    if (o.parts.includes('refinement')) {
      const maxTokens = maxStemTokens(p) + 8;
      const task = onlineTask(p, typoDrafts(TRAIN_STEMS, TRAIN_STEMS.length, 7).map((d) => ({ x: d.typo, clean: d.clean })), maxTokens);
      const t0 = performance.now();
      const trained = await trainOnline(policy, sampler, task, slhfSettings(t, true), {}, initLoraAdapter(model.config, LORA, o.seed));
      result.typoJudgeCalls = task.judge.calls;
      o.log(`typo task: SLHF seed ${o.seed} trained in ${((performance.now() - t0) / 1000).toFixed(0)} s, ${task.judge.calls} judge calls`);
      const zero = loraFeeds(zeroAdapter(trained.adapter), 'float32');
      const roster: Player[] = [
        { name: PLAYERS[0], sampler: builtIn, lora: zero },
        { name: PLAYERS[1], sampler, lora: zero },
        { name: PLAYERS[2], sampler, lora: loraFeeds(trained.adapter, 'float32') },
      ];
      const heldOut = typoDrafts(HELD_OUT_STEMS, o.cases, 11);
      const cases = heldOut.map((d) => ({ x: d.typo, text: withEnding(d.typo, d.ending), clean: d.clean }));
      result.iterations = [];
      for (const f of roster) result.iterations.push(await iterate(model, f, cases, ROUNDS, o.temperature, maxTokens, o.seed));
      result.transfer = await transferMatrix(model, roster, roster, heldOut.map((d) => ({ x: d.typo, clean: d.clean })), o.temperature, maxTokens, o.seed);
      o.log(`typo task: seed ${o.seed} measured`);
    }
  } finally {
    await policy.release();
    await sampler.release();
    await builtIn.release();
  }
  return result;
}
