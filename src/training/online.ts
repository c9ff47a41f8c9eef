// Online StackelbergGDA (the paper's setting): each step samples y ~ pi(.|x) from the Leader and
// y' ~ omega(.|x, y) from the Follower, asks a judge for p = P(y > y' | x), and takes the same
// optimizer step as offline training on the Leader term (y, p) and the Follower term (y', 1 - p).
// The Leader is the same model: sharing the adapter when it trains, the frozen base otherwise.
import { loraFeeds } from '../models/graphs';
import { initLoraAdapter, type LoraAdapter } from '../models/lora';
import { seededRandom } from '../models/seeded-random';
import type { Sample } from './data';
import type { Policy } from './policy';
import type { SampleSettings, Sampler } from './sampler';
import { shuffle, type TrainSettings } from './settings';
import { referenceLogprobs, StepRunner, zeroAdapter, type TrainHooks, type TrainResult } from './trainer';

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

/** One round of the game on a batch of prompts: samples and the judge's verdicts. */
export async function playRound(sampler: Sampler, task: OnlineTask, prompts: number[][], leader: LoraAdapter, follower: LoraAdapter, rand: () => number) {
  const ys = await sampler.sample(prompts, feedsOf(leader), task.sampling, rand);
  const followerPrompts = prompts.map((x, i) => task.followerPrompt(x, stripEos(ys[i].ids, task.sampling.eos)));
  const refinements = await sampler.sample(followerPrompts, feedsOf(follower), task.sampling, rand);
  const p = await Promise.all(prompts.map((x, i) => task.judge.prefer({ prompt: x, leader: ys[i].ids, follower: refinements[i].ids })));
  return { ys, followerPrompts, refinements, p };
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
    for (const x of p) {
      total += 1 - x;
      n += 1;
    }
  }
  return total / n;
}

export async function trainOnline(policy: Policy, sampler: Sampler, task: OnlineTask, s: TrainSettings, hooks: TrainHooks = {}, start?: LoraAdapter): Promise<TrainResult> {
  if (task.prompts.length === 0) throw new Error('online training: no prompts');
  const adapter = start ?? initLoraAdapter(policy.config, s.lora, s.seed);
  const base = zeroAdapter(adapter);
  const totalSteps = s.steps ?? 50;
  const runner = new StepRunner(policy, adapter, s, hooks, totalSteps);
  const rand = seededRandom(s.seed ^ 0x0411e);
  let order: number[][] = [];
  let samples = 0;
  for (let step = 1; step <= totalSteps; step++) {
    if (order.length < s.batchSize) order = [...order, ...shuffle(task.prompts, rand)];
    const prompts = order.splice(0, s.batchSize);
    const trainLeader = runner.leaderStep(step);
    const round = await playRound(sampler, task, prompts, s.trainLeader ? adapter : base, adapter, rand);
    const batch: Sample[] = prompts.flatMap((x, i) => {
      const follower: Sample = {
        role: 'follower', prompt: round.followerPrompts[i], completion: round.refinements[i].ids, score: 1 - round.p[i],
        behaviour: round.refinements[i].behaviour, referencePrompt: s.followerReference === 'leader-free' ? x : round.followerPrompts[i],
      };
      if (!trainLeader) return [follower];
      return [follower, { role: 'leader', prompt: x, completion: round.ys[i].ids, score: round.p[i], behaviour: round.ys[i].behaviour, referencePrompt: x }];
    });
    samples += batch.length;
    const reference = await referenceLogprobs(policy, batch, policy.adapterFeeds(base), s.batchSize * 2);
    await runner.step(step, 1, [batch], reference);
  }
  return { adapter, steps: totalSteps, skippedSteps: runner.skippedSteps, samples, last: runner.last };
}
