// What every experiment shares: the trained policy and sampler over the warm-started weights, the
// online task (the product's prompts, the simulated judge, with a count of its calls), and a
// learning curve taken through the trainer's checkpoint hook.
import type { LoraAdapter } from '../../src/models/lora';
import type { Judge, OnlineTask } from '../../src/training/online';
import type { Policy } from '../../src/training/policy';
import type { Sampler } from '../../src/training/sampler';
import type { TrainHooks } from '../../src/training/trainer';
import { preference } from './judge';
import type { BenchModel } from './model';

export interface Players {
  model: BenchModel;
  policy: Policy;
  sampler: Sampler;
  /** Sampling temperature of drafts and refinements (the paper's 0.9). */
  temperature: number;
  log: (message: string) => void;
}

/** A judge over token ids that counts its calls (the budget methods are compared at). */
export interface CountingJudge extends Judge {
  calls: number;
}

/**
 * The online game on Leader instructions `contexts` (x: the text the Leader drafts from), judged
 * against each context's clean sentence. The Follower's prompt is rendered from the decoded draft,
 * as the refiner renders it.
 */
export function onlineTask(p: Players, contexts: { x: string; clean: string }[], maxNewTokens: number): OnlineTask & { judge: CountingJudge } {
  const byPrompt = new Map<string, { x: string; clean: string }>();
  const prompts = contexts.map((c) => {
    const ids = p.model.leaderPrompt(c.x);
    byPrompt.set(ids.join(','), c);
    return ids;
  });
  const contextOf = (ids: number[]) => byPrompt.get(ids.join(','))!;
  const judge: CountingJudge = {
    name: 'three cyclic annotators',
    calls: 0,
    prefer({ prompt, leader, follower }) {
      judge.calls += 1;
      return preference(p.model.decode(leader), p.model.decode(follower), contextOf(prompt).clean);
    },
  };
  return {
    prompts,
    followerPrompt: (x, y) => p.model.followerPrompt(contextOf(x).x, p.model.decode(y)),
    judge,
    sampling: { maxNewTokens, temperature: p.temperature, eos: p.model.config.eosTokenIds },
  };
}

/** Hooks that evaluate the adapter every checkpoint (the trainer calls them every `every` steps). */
export function curveHooks<T>(evaluate: (adapter: LoraAdapter) => Promise<T>, curve: { step: number; value: T }[]): TrainHooks {
  return { onCheckpoint: async (adapter, _optimizer, step) => void curve.push({ step, value: await evaluate(adapter) }) };
}

export const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
export const sd = (xs: number[]): number => {
  const m = mean(xs);
  return xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
};
