// The one place where the bench meets the estimator options of issue 17 (src/training/settings.ts:
// rloo, draftsPerPrompt, refinementsPerDraft, followerBeta, leaderEvery, eosPenalty; ScoreRow's
// temperature). Every run of the bench takes its training settings from here, so a change of those
// options' names or defaults is one edit.
import type { ScoreRow } from '../../src/models/score';
import type { LoraConfig } from '../../src/models/lora';
import { resolveSettings, type TrainSettings } from '../../src/training/settings';

/** A row scored at the temperature its completion is sampled at (the deployed policy). */
export const scoreRow = (prompt: number[], completion: number[], temperature: number): ScoreRow => ({ ids: [...prompt, ...completion], from: prompt.length, temperature });

export interface BenchTraining {
  lora: LoraConfig;
  lr: number;
  steps: number;
  /** Leader prompts x per online step. */
  prompts: number;
  /** Leader drafts per x (the Leader's RLOO group) and Follower refinements per draft (the Follower's). */
  drafts: number;
  refinements: number;
  beta: number;
  /** The Follower's KL weight (null: beta) and lambda_F, its weight in the shared adapter's loss. */
  followerBeta: number | null;
  followerWeight: number;
  seed: number;
  threads?: number;
  /** Evaluate every this many steps (the learning curve). */
  every: number;
}

/** Online SLHF: shared adapter when `trainLeader`, else Follower-only against the frozen Leader. */
export function slhfSettings(t: BenchTraining, trainLeader: boolean): TrainSettings {
  return resolveSettings({
    lora: t.lora, lr: t.lr, steps: t.steps, batchSize: t.prompts, warmupSteps: 5, seed: t.seed, intraOpThreads: t.threads,
    beta: t.beta, followerBeta: t.followerBeta, kl: 'k3', trainLeader, leaderEvery: 1, followerWeight: t.followerWeight,
    rloo: true, draftsPerPrompt: t.drafts, refinementsPerDraft: t.refinements, eosPenalty: 0,
    checkpointEvery: t.every,
  });
}

/** DPO on `pairs` judged comparisons in the same number of optimizer steps: each pair once. */
export function dpoSettings(t: BenchTraining, pairs: number): TrainSettings {
  return resolveSettings({
    lora: t.lora, lr: t.lr, steps: t.steps, batchSize: 2 * Math.ceil(pairs / t.steps), warmupSteps: 5, seed: t.seed, intraOpThreads: t.threads,
    checkpointEvery: t.every,
  });
}
