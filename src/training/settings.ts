// Training settings, their defaults (chosen for small data: a user's first 20 to a few hundred
// decisions), the learning-rate schedule and sequence-length bucketing.
import type { Device } from '../onnx';
import { DEFAULT_LORA, validateLoraConfig, type LoraConfig } from '../models/lora';
import { KL_ESTIMATORS, type ObjectiveSettings } from './objective';
import { TrainingInputError, type FollowerReference, type Sample } from './data';

export type LrSchedule = 'constant' | 'linear-warmup';

export interface TrainSettings extends ObjectiveSettings {
  lora: LoraConfig;
  lr: number;
  schedule: LrSchedule;
  /** Warm-up steps of 'linear-warmup' (lr rises linearly from lr / warmup to lr). */
  warmupSteps: number;
  maxGradNorm: number;
  /** Sequences per forward/backward pass. */
  batchSize: number;
  /** Micro-batches whose gradients add up to one optimizer step. */
  accumulate: number;
  epochs: number;
  /** Optimizer steps; null: as many as `epochs` passes over the data take. */
  steps: number | null;
  /** The Leader (sharing the Follower's adapter) trains; false: Follower-only. */
  trainLeader: boolean;
  /**
   * k = 1: every step carries the Leader's and the Follower's terms. k > 1 (the authors'
   * leader_update_frequency): steps k, 2k, ... are Leader-only, the others Follower-only.
   */
  leaderEvery: number;
  /**
   * With a trained Leader: the Leader and the Follower each get their own adapter (same base model),
   * and the Follower's learning rate is lr * followerWeight instead of its loss being scaled.
   */
  separateAdapters: boolean;
  /** The Follower's KL weight; null: beta. */
  followerBeta: number | null;
  /** Leave-one-out baseline for samples that share a group with others (see sampleBaselines). */
  rloo: boolean;
  /** Subtracted from the score of a completion without an end-of-sequence token (0: off). */
  eosPenalty: number;
  /** Online: Leader drafts y per prompt x per step (the Leader's RLOO group). */
  draftsPerPrompt: number;
  /** Online: Follower refinements y' per draft (the Follower's RLOO group, the same (x, y)). */
  refinementsPerDraft: number;
  followerReference: FollowerReference;
  seed: number;
  /** Sequences are grouped by length rounded up to this, so batches carry little padding. */
  bucket: number;
  /** Consecutive non-finite steps after which training aborts. */
  maxBadSteps: number;
  weightDecay: number;
  adamEps: number;
  intraOpThreads?: number;
  /** ONNX Runtime provider for the training sessions ('auto': CUDA when installed, else CPU). Default cpu. */
  device?: Device;
  /** Write a checkpoint every N optimizer steps (0: only at the end). */
  checkpointEvery: number;
}

export const DEFAULT_TRAIN_SETTINGS: TrainSettings = {
  // Small rank and no dropout: with tens of decisions a wide adapter only memorizes, and dropout
  // noise costs more than it regularizes.
  lora: { ...DEFAULT_LORA, rank: 8, alpha: 16, dropout: 0 },
  lr: 1e-4,
  schedule: 'linear-warmup',
  warmupSteps: 5,
  maxGradNorm: 100,
  batchSize: 8,
  accumulate: 1,
  epochs: 3,
  steps: null,
  trainLeader: false,
  leaderEvery: 1,
  separateAdapters: false,
  followerBeta: null,
  rloo: true,
  eosPenalty: 0,
  draftsPerPrompt: 1,
  refinementsPerDraft: 4,
  followerReference: 'standard',
  seed: 0,
  bucket: 32,
  maxBadSteps: 3,
  weightDecay: 0,
  adamEps: 1e-6,
  checkpointEvery: 0,
  beta: 1e-3,
  kl: 'k3',
  baseline: 0.5,
  followerWeight: 2,
  isClip: 2,
};

export function resolveSettings(partial: Partial<TrainSettings> = {}): TrainSettings {
  const s: TrainSettings = { ...DEFAULT_TRAIN_SETTINGS, ...partial, lora: { ...DEFAULT_TRAIN_SETTINGS.lora, ...partial.lora } };
  const positive = (name: keyof TrainSettings, integer = false) => {
    const v = s[name] as number;
    if (!(Number.isFinite(v) && v > 0 && (!integer || Number.isInteger(v)))) throw new TrainingInputError(`training setting ${name} must be a positive ${integer ? 'integer' : 'number'}, got ${v}`);
  };
  (['lr', 'maxGradNorm', 'isClip', 'followerWeight'] as const).forEach((n) => positive(n));
  (['batchSize', 'accumulate', 'epochs', 'leaderEvery', 'bucket', 'maxBadSteps', 'draftsPerPrompt', 'refinementsPerDraft'] as const).forEach((n) => positive(n, true));
  if (s.steps !== null) positive('steps', true);
  if (!(s.beta >= 0)) throw new TrainingInputError(`training setting beta must be >= 0, got ${s.beta}`);
  if (s.followerBeta !== null && !(s.followerBeta >= 0)) throw new TrainingInputError(`training setting followerBeta must be >= 0 or null, got ${s.followerBeta}`);
  if (!(s.eosPenalty >= 0)) throw new TrainingInputError(`training setting eosPenalty must be >= 0, got ${s.eosPenalty}`);
  if (!KL_ESTIMATORS.includes(s.kl)) throw new TrainingInputError(`training setting kl must be one of ${KL_ESTIMATORS.join(', ')}, got ${s.kl}`);
  if (!(s.warmupSteps >= 0 && Number.isInteger(s.warmupSteps))) throw new TrainingInputError(`training setting warmupSteps must be a whole number, got ${s.warmupSteps}`);
  try {
    s.lora = validateLoraConfig(s.lora);
  } catch (err) {
    throw new TrainingInputError((err as Error).message);
  }
  return s;
}

/** Learning rate of optimizer step `step` (1-based). */
export function learningRate(s: Pick<TrainSettings, 'lr' | 'schedule' | 'warmupSteps'>, step: number): number {
  if (s.schedule === 'constant' || s.warmupSteps === 0 || step > s.warmupSteps) return s.lr;
  return (s.lr * step) / s.warmupSteps;
}

/** Total tokens (prompt + completion) a sample puts through the model. */
export const sampleLength = (sample: Sample): number => sample.prompt.length + sample.completion.length;

/**
 * One epoch's micro-batches: shuffled, grouped by length bucket so a batch's rows have similar
 * lengths, cut into batches, and the batches shuffled again so buckets interleave.
 */
export function epochBatches(samples: Sample[], batchSize: number, bucket: number, rand: () => number): Sample[][] {
  const order = shuffle(samples.map((_, i) => i), rand);
  const buckets = new Map<number, Sample[]>();
  for (const i of order) {
    const key = Math.ceil(sampleLength(samples[i]) / bucket);
    if (!buckets.has(key)) buckets.set(key, []);
    buckets.get(key)!.push(samples[i]);
  }
  const batches: Sample[][] = [];
  for (const key of [...buckets.keys()].sort((a, b) => a - b)) {
    const group = buckets.get(key)!;
    for (let i = 0; i < group.length; i += batchSize) batches.push(group.slice(i, i + batchSize));
  }
  return shuffle(batches, rand);
}

export function shuffle<T>(items: T[], rand: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
