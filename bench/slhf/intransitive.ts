// Claim 1, intransitive preferences: on clean sentences whose only freedom is the ending, the
// Follower should answer each draft ending with the one that beats it (2 of 3 annotators), which
// no scalar reward of a text can ask for. Methods at an equal judge budget:
//   slhf           online SLHF, Leader and Follower sharing one adapter (the paper's default)
//   slhf-follower  online SLHF, Follower only, against the frozen (warm-started) Leader
//   bt-uniform     DPO (Bradley-Terry with the log-ratio as reward) on unconditional pairs: two
//                  answers compared with each other, pairs of endings drawn uniformly
//   bt-skewed      the same with the pairs drawn 60/30/10: the data-sensitivity point
//   dpo-draft      draft-conditioned DPO: the draft against a sampled refinement of it, as the
//                  product logs a decision
// DPO sees one annotator's vote per judge call (a Bernoulli draw from p, as a user's single
// accept/reject), so its expected loss is Bradley-Terry's on the judge's own probabilities.
import { initLoraAdapter, type LoraAdapter } from '../../src/models/lora';
import { pickOne, seededRandom } from '../../src/base/seeded-random';
import type { TrainingPair } from '../../src/training/data';
import { trainDpo } from '../../lab/dpo';
import { loraFeeds } from '../../src/models/graphs';
import { trainOnline } from '../../src/training/online';
import { zeroAdapter } from '../../src/training/trainer';
import { dpoSettings, slhfSettings, type BenchTraining } from './estimators';
import { curveHooks, onlineTask, type Players } from './game';
import { ENDINGS, preference } from './judge';
import { endingProbabilities, summarize, type IntransitiveSummary } from './metrics';
import { HELD_OUT_STEMS, TRAIN_STEMS, withEnding } from './tasks';

export const INTRANSITIVE_METHODS = ['slhf', 'slhf-follower', 'bt-uniform', 'bt-skewed', 'dpo-draft'] as const;
export type IntransitiveMethod = (typeof INTRANSITIVE_METHODS)[number];

/** Unordered ending pairs (A,B), (B,C), (C,A) and the skewed draw's weights over them. */
const ENDING_PAIRS: [number, number][] = [[0, 1], [1, 2], [2, 0]];
const SKEWED = [0.6, 0.3, 0.1];

export interface IntransitiveRun {
  method: IntransitiveMethod;
  seed: number;
  judgeCalls: number;
  seconds: number;
  /** Held-out E[1 - p] by step (step 0: the warm start). */
  curve: { step: number; value: number }[];
  final: IntransitiveSummary;
  /** The trained adapter (the SLHF one is reused by the transfer experiment). */
  adapter: LoraAdapter;
}

export const maxStemTokens = (p: Players) => Math.max(...[...TRAIN_STEMS, ...HELD_OUT_STEMS].map((s) => p.model.completion(withEnding(s, 2)).length));

async function heldOut(p: Players, adapter: LoraAdapter): Promise<IntransitiveSummary> {
  return summarize(await endingProbabilities(p.policy, p.model, loraFeeds(adapter, p.policy.dtype), HELD_OUT_STEMS, p.temperature));
}

/** `budget` judged comparisons of the DPO baselines (one Bernoulli vote each) as training pairs. */
async function dpoPairs(p: Players, method: IntransitiveMethod, budget: number, seed: number, base: LoraAdapter): Promise<TrainingPair[]> {
  const rand = seededRandom(seed ^ 0xb7);
  const pairs: TrainingPair[] = [];
  const side = (text: string) => ({ ids: p.model.completion(text), kind: 'other' as const, behaviour: null });
  const vote = (y: string, y2: string, clean: string) => rand() < preference(y, y2, clean); // true: y preferred
  const cases = Array.from({ length: budget }, () => ({ stem: pickOne(TRAIN_STEMS, rand), draft: Math.floor(rand() * ENDINGS.length) }));
  let answers: string[] = [];
  if (method === 'dpo-draft') {
    // The refinements a user would have judged: the warm-started Follower's samples.
    const prompts = cases.map((c) => p.model.followerPrompt(c.stem, withEnding(c.stem, c.draft)));
    const sampling = { maxNewTokens: maxStemTokens(p) + 4, temperature: p.temperature, eos: p.model.config.eosTokenIds };
    for (let i = 0; i < prompts.length; i += 32) {
      const out = await p.sampler.sample(prompts.slice(i, i + 32), loraFeeds(base, 'float32'), sampling, rand);
      answers.push(...out.map((o) => p.model.decode(o.ids)));
    }
  }
  cases.forEach((c, i) => {
    const prompt = p.model.followerPrompt(c.stem, withEnding(c.stem, c.draft));
    let a: string;
    let b: string;
    if (method === 'dpo-draft') [a, b] = [withEnding(c.stem, c.draft), answers[i]];
    else {
      const weights = method === 'bt-skewed' ? SKEWED : [1, 1, 1];
      let u = rand() * weights.reduce((x, y) => x + y, 0);
      const k = weights.findIndex((w) => (u -= w) < 0);
      const [e1, e2] = ENDING_PAIRS[k < 0 ? 2 : k];
      [a, b] = rand() < 0.5 ? [withEnding(c.stem, e1), withEnding(c.stem, e2)] : [withEnding(c.stem, e2), withEnding(c.stem, e1)];
    }
    const aWins = vote(a, b, c.stem);
    const [chosen, rejected] = aWins ? [a, b] : [b, a];
    pairs.push({ id: `${method}-${i}`, leaderPrompt: p.model.leaderPrompt(c.stem), followerPrompt: prompt, chosen: side(chosen), rejected: side(rejected) });
  });
  answers = [];
  return pairs;
}

/** One method, one seed. `budget`: the judge calls DPO gets (SLHF's count, measured). */
export async function runIntransitive(p: Players, method: IntransitiveMethod, t: BenchTraining, budget: number): Promise<IntransitiveRun> {
  const started = performance.now();
  const start = initLoraAdapter(p.model.config, t.lora, t.seed);
  const base = zeroAdapter(start);
  const curve: { step: number; value: number }[] = [{ step: 0, value: (await heldOut(p, base)).score }];
  const hooks = curveHooks(async (a) => (await heldOut(p, a)).score, curve);
  let adapter: LoraAdapter;
  let judgeCalls: number;
  if (method === 'slhf' || method === 'slhf-follower') {
    const task = onlineTask(p, TRAIN_STEMS.map((stem) => ({ x: stem, clean: stem })), maxStemTokens(p) + 4);
    adapter = (await trainOnline(p.policy, p.sampler, task, slhfSettings(t, method === 'slhf'), hooks, start)).adapter;
    judgeCalls = task.judge.calls;
  } else {
    const pairs = await dpoPairs(p, method, budget, t.seed, base);
    adapter = (await trainDpo(p.policy, pairs, dpoSettings(t, pairs.length), 0.1, hooks, start)).adapter;
    judgeCalls = pairs.length;
  }
  const final = await heldOut(p, adapter);
  curve.push({ step: t.steps, value: final.score });
  const seconds = (performance.now() - started) / 1000;
  p.log(`intransitive ${method} seed ${t.seed}: E[1-p] ${curve[0].value.toFixed(3)} -> ${final.score.toFixed(3)}, best response ${final.bestResponse.map((x) => x.toFixed(2)).join('/')}, ${judgeCalls} judge calls, ${seconds.toFixed(0)} s`);
  return { method, seed: t.seed, judgeCalls, seconds, curve, final, adapter };
}
