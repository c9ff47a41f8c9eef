// Online StackelbergGDA (the paper's setting): each step samples drafts y ~ pi(.|x) from the Leader
// and refinements y' ~ omega(.|x, y) from the Follower, asks a judge for p = P(y > y' | x), and takes
// the same optimizer step as offline training on the Leader terms (y, p) and the Follower terms
// (y', 1 - p). Several drafts per x and several refinements per (x, y) form the groups of the
// leave-one-out baseline. Samples carry the sampling temperature, which the trainer scores them at.
// The Leader is the same model: sharing the adapter when it trains (or its own with
// separateAdapters), the frozen base otherwise.
import { loraFeeds } from '../models/graphs';
import { initLoraAdapter, type LoraAdapter } from '../models/lora';
import { seededRandom } from '../base/seeded-random';
import type { Sample } from './data';
import type { Policy } from './policy';
import type { SampleSettings, Sampler } from './sampler';
import { shuffle, type TrainSettings } from './settings';
import { gameScores, referenceLogprobs, StepRunner, zeroAdapter, type TrainHooks, type TrainResult } from './trainer';

export interface JudgeInput {
  /** The Leader's prompt x. */
  prompt: number[];
  /** The Leader's response y and the Follower's refinement y' (end-of-turn token included if sampled). */
  leader: number[];
  follower: number[];
}

/**
 * A preference function p = P(y > y' | x) in [0, 1]. Tests and benchmarks use programmatic judges;
 * a preference model learned from the user's choices fits the same interface.
 */
export interface Judge {
  name: string;
  prefer(input: JudgeInput): number | Promise<number>;
}

export interface OnlineTask {
  /** Leader prompts x, cycled through in shuffled order. */
  prompts: number[][];
  /** The Follower's prompt for x and the Leader's y (its end-of-turn token removed). */
  followerPrompt(prompt: number[], draft: number[]): number[];
  judge: Judge;
  sampling: SampleSettings;
}

const stripEos = (ids: number[], eos: number[]) => (ids.length > 0 && eos.includes(ids[ids.length - 1]) ? ids.slice(0, -1) : ids);

/**
 * One round of the game on a batch of prompts: a draft per prompt, `refinementsPerDraft` refinements
 * of each draft, and the judge's verdict p[i][j] on draft i against its refinement j.
 */
export async function playRound(sampler: Sampler, task: OnlineTask, prompts: number[][], leader: LoraAdapter, follower: LoraAdapter, rand: () => number, refinementsPerDraft = 1) {
  const ys = await sampler.sample(prompts, feedsOf(leader), task.sampling, rand);
  const followerPrompts = prompts.map((x, i) => task.followerPrompt(x, stripEos(ys[i].ids, task.sampling.eos)));
  const flat = await sampler.sample(followerPrompts.flatMap((fp) => Array.from({ length: refinementsPerDraft }, () => fp)), feedsOf(follower), task.sampling, rand);
  const refinements = prompts.map((_, i) => flat.slice(i * refinementsPerDraft, (i + 1) * refinementsPerDraft));
  const p = await Promise.all(prompts.map((x, i) => Promise.all(refinements[i].map((r) => task.judge.prefer({ prompt: x, leader: ys[i].ids, follower: r.ids })))));
  return { ys, followerPrompts, refinements, p };
}

/**
 * A step's game samples: `draftsPerPrompt` drafts of each prompt (the Leader's group: the same x),
 * each refined `refinementsPerDraft` times (the Follower's group: the same (x, y)). A draft's score is
 * its mean p over its refinements, a refinement's is 1 - p.
 */
export async function gameSamples(
  sampler: Sampler, task: OnlineTask, prompts: number[][], leader: LoraAdapter, follower: LoraAdapter, rand: () => number,
  s: Pick<TrainSettings, 'draftsPerPrompt' | 'refinementsPerDraft' | 'followerReference'>, tag = '',
): Promise<Sample[]> {
  const contexts = prompts.flatMap((x, i) => Array.from({ length: s.draftsPerPrompt }, () => ({ x, group: `${tag}x${i}` })));
  const round = await playRound(sampler, task, contexts.map((c) => c.x), leader, follower, rand, s.refinementsPerDraft);
  const temperature = task.sampling.temperature;
  return contexts.flatMap(({ x, group }, k) => {
    const followerPrompt = round.followerPrompts[k];
    const refinements = round.refinements[k].map((r, j): Sample => ({
      role: 'follower', prompt: followerPrompt, completion: r.ids, score: 1 - round.p[k][j], behaviour: r.behaviour, temperature,
      referencePrompt: s.followerReference === 'leader-free' ? x : followerPrompt, group: `${group}y${k}`,
    }));
    const p = round.p[k].reduce((a, b) => a + b, 0) / round.p[k].length;
    const draft: Sample = { role: 'leader', prompt: x, completion: round.ys[k].ids, score: p, behaviour: round.ys[k].behaviour, temperature, referencePrompt: x, group };
    return [draft, ...refinements];
  });
}

// The sampler's graph is float32 with the same LoRA input names as the policy's.
const feedsOf = (adapter: LoraAdapter) => loraFeeds(adapter, 'float32');

/** The judge's mean preference for the Follower's refinement over the Leader's response, 1 - p. */
export async function followerWinRate(sampler: Sampler, task: OnlineTask, leader: LoraAdapter, follower: LoraAdapter, seed: number, rounds = 1): Promise<number> {
  const rand = seededRandom(seed);
  let total = 0;
  let n = 0;
  for (let r = 0; r < rounds; r++) {
    const { p } = await playRound(sampler, task, task.prompts, leader, follower, rand);
    for (const [x] of p) {
      total += 1 - x;
      n += 1;
    }
  }
  return total / n;
}

/**
 * `batchSize` prompts per step, each played draftsPerPrompt x refinementsPerDraft times; the
 * forward passes take batchSize sequences at a time. `leaderStart`: the Leader's own adapter to
 * continue from (separateAdapters only).
 */
export async function trainOnline(policy: Policy, sampler: Sampler, task: OnlineTask, s: TrainSettings, hooks: TrainHooks = {}, start?: LoraAdapter, leaderStart?: LoraAdapter): Promise<TrainResult> {
  if (task.prompts.length === 0) throw new Error('online training: no prompts');
  if (!(task.sampling.temperature > 0)) throw new Error(`online training: the sampling temperature must be positive, got ${task.sampling.temperature}`);
  const adapter = start ?? initLoraAdapter(policy.config, s.lora, s.seed);
  const base = zeroAdapter(adapter);
  const totalSteps = s.steps ?? 50;
  const runner = new StepRunner(policy, adapter, s, hooks, totalSteps, leaderStart);
  const rand = seededRandom(s.seed ^ 0x0411e);
  let order: number[][] = [];
  let samples = 0;
  for (let step = 1; step <= totalSteps; step++) {
    if (order.length < s.batchSize) order = [...order, ...shuffle(task.prompts, rand)];
    const prompts = order.splice(0, s.batchSize);
    const roles = runner.rolesOf(step);
    const played = await gameSamples(sampler, task, prompts, s.trainLeader ? runner.adapterOf('leader') : base, adapter, rand, s, `s${step}`);
    const trained = played.filter((x) => roles[x.role]);
    samples += trained.length;
    const reference = await referenceLogprobs(policy, trained, policy.adapterFeeds(base), s.batchSize);
    const micro = Array.from({ length: Math.ceil(trained.length / s.batchSize) }, (_, i) => trained.slice(i * s.batchSize, (i + 1) * s.batchSize));
    await runner.step(step, 1, micro, reference, gameScores(trained, s, task.sampling.eos));
  }
  return { adapter, leaderAdapter: runner.leaderAdapter ?? undefined, steps: totalSteps, skippedSteps: runner.skippedSteps, samples, last: runner.last };
}
