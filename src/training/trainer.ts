// The StackelbergGDA loop on logged samples: reference log-probs once (the frozen base is the
// adapter with B = 0), then per optimizer step: probe the current log-probs, turn them into
// per-token coefficients on the CPU, run the training graph for the gradients, accumulate, guard
// against non-finite values, clip, and take an AdamW step under the schedule.
import { AdamW, clipGradNorm } from '../onnx';
import type { Feed } from '../onnx';
import { initLoraAdapter, type LoraAdapter } from '../models/lora';
import { seededRandom } from '../models/seeded-random';
import type { ScoreRow } from '../models/score';
import { loraInputName } from '../models/graphs';
import { samplesOf, type Sample, type TrainingPair } from './data';
import { termCoefficients, type TermCoefficients } from './objective';
import type { Policy } from './policy';
import { epochBatches, learningRate, type TrainSettings } from './settings';

export interface StepProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  /** Surrogate loss (leader + lambda_F * follower), normalized per sequence. */
  loss: number;
  followerLoss: number;
  leaderLoss: number | null;
  /** Mean per-token KL estimate against the reference, over the step's sequences. */
  kl: number;
  /** Mean score of the step's Follower samples (1 - p). */
  followerScore: number;
  leaderScore: number | null;
  gradNorm: number;
  lr: number;
  tokensPerSecond: number;
  etaSeconds: number;
  /** Set when the step was skipped for non-finite values. */
  skipped?: string;
}

export class TrainingDivergedError extends Error {
  override name = 'TrainingDivergedError';
}
export class TrainingCancelledError extends Error {
  override name = 'TrainingCancelledError';
}

export interface TrainHooks {
  onStep?(progress: StepProgress): void;
  /** Called every settings.checkpointEvery steps with the adapter and optimizer state. */
  onCheckpoint?(adapter: LoraAdapter, optimizer: AdamW, step: number): Promise<void>;
  /** Checked between steps; true stops training with TrainingCancelledError. */
  cancelled?(): boolean;
}

export interface TrainResult {
  adapter: LoraAdapter;
  steps: number;
  skippedSteps: number;
  samples: number;
  last: StepProgress | null;
}

const rowOf = (prompt: number[], completion: number[]): ScoreRow => ({ ids: [...prompt, ...completion], from: prompt.length });

/** Log-probs of every sample's completion under the frozen reference (B = 0), by sample. */
export async function referenceLogprobs(policy: Policy, samples: Sample[], base: Record<string, Feed>, batchSize: number): Promise<Map<Sample, number[]>> {
  const out = new Map<Sample, number[]>();
  for (let i = 0; i < samples.length; i += batchSize) {
    const chunk = samples.slice(i, i + batchSize);
    const lps = await policy.logprobs(chunk.map((s) => rowOf(s.referencePrompt, s.completion)), base);
    chunk.forEach((s, j) => out.set(s, lps[j]));
  }
  return out;
}

/** An adapter with the same shapes and B = 0: the frozen base policy. */
export function zeroAdapter(adapter: LoraAdapter): LoraAdapter {
  return { config: adapter.config, pairs: adapter.pairs.map((p) => ({ ...p, b: new Float32Array(p.b.length) })) };
}

/** Parameters by graph input name, as views of the adapter's arrays (AdamW updates them in place). */
export function adapterParams(adapter: LoraAdapter): Map<string, Float32Array> {
  const params = new Map<string, Float32Array>();
  for (const p of adapter.pairs) {
    params.set(loraInputName(p.module, 'A'), p.a);
    params.set(loraInputName(p.module, 'B'), p.b);
  }
  return params;
}

/**
 * How a step's detached per-token coefficients are made. SLHF needs the current log-probs (a probe
 * run per micro-batch); supervised fine-tuning does not (its coefficients are constants).
 */
export interface StepObjective {
  readonly probe: boolean;
  /** Coefficients of one micro-batch; `current` is null without a probe; `micro` is the whole step. */
  terms(batch: Sample[], current: number[][] | null, micro: Sample[][]): TermCoefficients[];
}

/** The SLHF objective, normalized over the step's sequences, against the given reference log-probs. */
export function slhfObjective(s: TrainSettings, reference: Map<Sample, number[]>): StepObjective {
  return {
    probe: true,
    terms(batch, current, micro) {
      const count = micro.reduce((n, b) => n + b.length, 0);
      return batch.map((x, i) => {
        const ref = reference.get(x)!;
        // Unknown behaviour (user text, edits, imports): as if sampled from the frozen base. The
        // weight starts at 1 (on-policy) and shrinks as the policy moves away from the text, which
        // bounds the push-down on rejected text that weight 1 would leave unbounded.
        return termCoefficients({ ...x, behaviour: x.behaviour ?? ref, logprobs: current![i], reference: ref }, s, 1 / count);
      });
    },
  };
}

/**
 * Optimizer steps over given micro-batches: probe, coefficients, gradients, accumulation, the
 * NaN/inf guard (skip, halve the learning rate, abort after maxBadSteps in a row), clipping and
 * AdamW. Offline, online and supervised training share it.
 */
export class StepRunner {
  readonly params: Map<string, Float32Array>;
  readonly optimizer: AdamW;
  private lrScale = 1;
  private bad = 0;
  skippedSteps = 0;
  last: StepProgress | null = null;
  private tokens = 0;
  private readonly started = performance.now();

  constructor(private readonly policy: Policy, readonly adapter: LoraAdapter, private readonly s: TrainSettings, private readonly hooks: TrainHooks, readonly totalSteps: number) {
    this.params = adapterParams(adapter);
    this.optimizer = new AdamW(this.params, { lr: s.lr, eps: s.adamEps, weightDecay: s.weightDecay });
  }

  /** Whether optimizer step `step` (1-based) includes the Leader's terms. */
  leaderStep(step: number): boolean {
    return this.s.trainLeader && (step - 1) % this.s.leaderEvery === 0;
  }

  /** An SLHF step: the Leader's terms enter on Leader steps only. */
  async step(step: number, epoch: number, batches: Sample[][], reference: Map<Sample, number[]>): Promise<StepProgress> {
    const leaderStep = this.leaderStep(step);
    const micro = batches.map((b) => b.filter((x) => x.role === 'follower' || leaderStep)).filter((b) => b.length > 0);
    return this.stepWith(step, epoch, micro, slhfObjective(this.s, reference));
  }

  async stepWith(step: number, epoch: number, micro: Sample[][], objective: StepObjective): Promise<StepProgress> {
    const { policy, s, hooks } = this;
    if (hooks.cancelled?.()) throw new TrainingCancelledError(`training cancelled at step ${step} of ${this.totalSteps}`);
    const count = micro.reduce((n, b) => n + b.length, 0);
    const feeds = policy.adapterFeeds(this.adapter);
    const sums = new Map<string, Float32Array>([...this.params].map(([name, p]) => [name, new Float32Array(p.length)]));
    const stats = { follower: [0, 0, 0], leader: [0, 0, 0], kl: 0 }; // [loss, score, count]
    let loss = 0;
    for (const batch of micro) {
      const rows = batch.map((x) => rowOf(x.prompt, x.completion));
      const current = objective.probe ? await policy.logprobs(rows, feeds) : null;
      const terms = objective.terms(batch, current, micro);
      const result = await policy.gradients(rows, terms.map((t) => t.coef), feeds);
      loss += result.loss;
      for (const [name, g] of result.grads) {
        const sum = sums.get(name)!;
        for (let i = 0; i < g.length; i++) sum[i] += g[i];
      }
      batch.forEach((x, i) => {
        const acc = x.role === 'follower' ? stats.follower : stats.leader;
        acc[0] += terms[i].loss;
        acc[1] += x.score;
        acc[2] += 1;
        stats.kl += terms[i].kl / count;
      });
      this.tokens += rows.reduce((n, r) => n + r.ids.length, 0);
    }
    const { norm } = clipGradNorm(sums, s.maxGradNorm);
    const lr = learningRate(s, step) * this.lrScale;
    const elapsed = (performance.now() - this.started) / 1000;
    const progress: StepProgress = {
      step, totalSteps: this.totalSteps, epoch, loss,
      // Without a probe the per-sequence losses are unknown; the graph's total is the loss.
      followerLoss: objective.probe ? stats.follower[0] : loss,
      leaderLoss: stats.leader[2] ? stats.leader[0] : null,
      kl: stats.kl,
      followerScore: stats.follower[2] ? stats.follower[1] / stats.follower[2] : 0,
      leaderScore: stats.leader[2] ? stats.leader[1] / stats.leader[2] : null,
      gradNorm: norm, lr,
      tokensPerSecond: this.tokens / Math.max(elapsed, 1e-9),
      etaSeconds: (elapsed / step) * (this.totalSteps - step),
    };
    if (!Number.isFinite(loss) || !Number.isFinite(norm)) {
      this.bad += 1;
      this.skippedSteps += 1;
      this.lrScale /= 2;
      progress.skipped = `non-finite ${Number.isFinite(loss) ? 'gradient norm' : 'loss'}; step skipped, learning rate halved`;
      hooks.onStep?.(progress);
      if (this.bad >= s.maxBadSteps) {
        throw new TrainingDivergedError(
          `training diverged: ${this.bad} consecutive steps (up to step ${step}) had a non-finite loss or gradient, even after halving the learning rate to ${lr.toExponential(2)}. ` +
            'Check the data for empty or corrupt log-probs, or train with a lower --lr.',
        );
      }
      return progress;
    }
    this.bad = 0;
    this.optimizer.step(sums, lr);
    this.last = progress;
    hooks.onStep?.(progress);
    if (hooks.onCheckpoint && s.checkpointEvery > 0 && step % s.checkpointEvery === 0 && step < this.totalSteps) {
      await hooks.onCheckpoint(this.adapter, this.optimizer, step);
    }
    return progress;
  }
}

export async function trainOffline(policy: Policy, pairs: TrainingPair[], s: TrainSettings, hooks: TrainHooks = {}, start?: LoraAdapter): Promise<TrainResult> {
  const samples = pairs.flatMap((p) => samplesOf(p, { trainLeader: s.trainLeader, followerReference: s.followerReference }));
  if (samples.length === 0) throw new Error('training: no samples (no usable preference pairs)');
  const adapter = start ?? initLoraAdapter(policy.config, s.lora, s.seed);
  const reference = await referenceLogprobs(policy, samples, policy.adapterFeeds(zeroAdapter(adapter)), s.batchSize);
  return trainEpochs(policy, samples, s, hooks, adapter, (runner, step, epoch, batches) => runner.step(step, epoch, batches, reference));
}

/**
 * Optimizer steps over fixed samples in shuffled, length-bucketed epochs (offline SLHF and
 * supervised fine-tuning): `steps`, or as many as `epochs` passes take.
 */
export async function trainEpochs(
  policy: Policy, samples: Sample[], s: TrainSettings, hooks: TrainHooks, adapter: LoraAdapter,
  takeStep: (runner: StepRunner, step: number, epoch: number, batches: Sample[][]) => Promise<StepProgress>,
): Promise<TrainResult> {
  const rand = seededRandom(s.seed ^ 0x5eed);
  let queue: Sample[][] = [];
  let epoch = 0;
  const nextBatch = (): Sample[] => {
    if (queue.length === 0) {
      epoch += 1;
      queue = epochBatches(samples, s.batchSize, s.bucket, rand);
    }
    return queue.shift()!;
  };
  const batchesPerEpoch = epochBatches(samples, s.batchSize, s.bucket, seededRandom(0)).length;
  const totalSteps = s.steps ?? Math.max(1, Math.ceil((s.epochs * batchesPerEpoch) / s.accumulate));
  const runner = new StepRunner(policy, adapter, s, hooks, totalSteps);
  for (let step = 1; step <= totalSteps; step++) {
    const batches = Array.from({ length: s.accumulate }, nextBatch);
    await takeStep(runner, step, epoch, batches);
  }
  return { adapter, steps: totalSteps, skippedSteps: runner.skippedSteps, samples: samples.length, last: runner.last };
}
