// The StackelbergGDA loop on logged samples: reference log-probs once (the frozen base is the
// adapter with B = 0), then per optimizer step: probe the current log-probs, turn them into
// per-token coefficients on the CPU, run the training graph for the gradients, accumulate, guard
// against non-finite values, clip, and take an AdamW step under the schedule. Every log-prob (current,
// reference) is taken at the temperature its sample was drawn at. The Leader and the Follower share
// one adapter (the paper's default) or, with separateAdapters, each train their own.
import { AdamW, clipGradNorm } from '../onnx';
import type { Feed } from '../onnx';
import { initLoraAdapter, type LoraAdapter } from '../models/lora';
import { seededRandom } from '../base/seeded-random';
import type { ScoreRow } from '../models/score';
import { loraInputName } from '../models/graphs';
import type { Sample } from './data';
import { penalizedScore, sampleBaselines, termCoefficients, type Role, type TermCoefficients } from './objective';
import type { Policy } from './policy';
import { epochBatches, learningRate, type TrainSettings } from './settings';

export interface StepProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  /** Surrogate loss (leader + lambda_F * follower), normalized per sequence. With leaderEvery > 1 a step is Leader-only or Follower-only. */
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
  /** The Follower's adapter (shared with the Leader unless separateAdapters). */
  adapter: LoraAdapter;
  /** The Leader's own adapter (separateAdapters with a trained Leader only). */
  leaderAdapter?: LoraAdapter;
  steps: number;
  skippedSteps: number;
  samples: number;
  last: StepProgress | null;
}

const rowOf = (prompt: number[], completion: number[], temperature?: number): ScoreRow => ({ ids: [...prompt, ...completion], from: prompt.length, temperature });

/** A sample's row under its own prompt, scored at its sampling temperature. */
export const sampleRow = (x: Sample): ScoreRow => rowOf(x.prompt, x.completion, x.temperature);

/** Log-probs of every sample's completion under the frozen reference (B = 0), by sample. */
export async function referenceLogprobs(policy: Policy, samples: Sample[], base: Record<string, Feed>, batchSize: number): Promise<Map<Sample, number[]>> {
  const out = new Map<Sample, number[]>();
  for (let i = 0; i < samples.length; i += batchSize) {
    const chunk = samples.slice(i, i + batchSize);
    const lps = await policy.logprobs(chunk.map((s) => rowOf(s.referencePrompt, s.completion, s.temperature)), base);
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

/** A sample's score in the objective (less any missing-EOS penalty) and its baseline. */
export interface GameScore {
  score: number;
  baseline: number;
}

/**
 * Scores and baselines of samples that may share groups: each score less eosPenalty when the
 * completion holds none of `eos`, and each baseline leave-one-out within its group (constant when
 * alone, or without rloo). Pass all samples that can share a group at once (offline: the data set;
 * online: the step's samples), whatever batches they land in.
 */
export function gameScores(samples: Sample[], s: Pick<TrainSettings, 'baseline' | 'rloo' | 'eosPenalty'>, eos: readonly number[]): Map<Sample, GameScore> {
  const scores = samples.map((x) => penalizedScore(x.score, x.completion.some((t) => eos.includes(t)), s.eosPenalty));
  const baselines = sampleBaselines(samples.map((x, i) => ({ role: x.role, group: x.group, score: scores[i] })), s);
  return new Map(samples.map((x, i) => [x, { score: scores[i], baseline: baselines[i] }]));
}

/**
 * The SLHF objective, normalized over the step's sequences, against the given reference log-probs
 * and game scores. With separate adapters the Follower's weight goes into its learning rate, not here.
 */
export function slhfObjective(s: TrainSettings, reference: Map<Sample, number[]>, scores: Map<Sample, GameScore>): StepObjective {
  const settings = s.separateAdapters && s.trainLeader ? { ...s, followerWeight: 1 } : s;
  return {
    probe: true,
    terms(batch, current, micro) {
      const count = micro.reduce((n, b) => n + b.length, 0);
      return batch.map((x, i) => {
        const ref = reference.get(x)!;
        const game = scores.get(x)!;
        // Unknown behaviour (user text, edits, imports): as if sampled from the frozen base. The
        // weight starts at 1 (on-policy) and shrinks as the policy moves away from the text, which
        // bounds the push-down on rejected text that weight 1 would leave unbounded.
        return termCoefficients({ ...x, ...game, behaviour: x.behaviour ?? ref, logprobs: current![i], reference: ref }, settings, 1 / count);
      });
    },
  };
}

/** Parameters a role trains, with their optimizer and the factor on the step's learning rate. */
interface Trainable {
  adapter: LoraAdapter;
  params: Map<string, Float32Array>;
  optimizer: AdamW;
  lrFactor: number;
}

/**
 * Optimizer steps over given micro-batches: probe, coefficients, gradients, accumulation, the
 * NaN/inf guard (skip, halve the learning rate, abort after maxBadSteps in a row), clipping and
 * AdamW. Offline, online and supervised training share it.
 */
export class StepRunner {
  /** The Follower's (or the shared) parameters and optimizer. */
  readonly params: Map<string, Float32Array>;
  readonly optimizer: AdamW;
  /** The Leader's own adapter (separateAdapters with a trained Leader), else null. */
  readonly leaderAdapter: LoraAdapter | null;
  private readonly follower: Trainable;
  private readonly leader: Trainable;
  private lrScale = 1;
  private bad = 0;
  skippedSteps = 0;
  last: StepProgress | null = null;
  private tokens = 0;
  private readonly started = performance.now();

  /**
   * `leaderStart`: the Leader's own adapter to continue from with separateAdapters (default: a
   * fresh one from the settings' seed + 1, so the two players do not start identical).
   */
  constructor(private readonly policy: Policy, readonly adapter: LoraAdapter, private readonly s: TrainSettings, private readonly hooks: TrainHooks, readonly totalSteps: number, leaderStart?: LoraAdapter) {
    const trainable = (a: LoraAdapter, lrFactor: number): Trainable => {
      const params = adapterParams(a);
      return { adapter: a, params, optimizer: new AdamW(params, { lr: s.lr, eps: s.adamEps, weightDecay: s.weightDecay }), lrFactor };
    };
    const separate = s.separateAdapters && s.trainLeader;
    // Separate adapters (the authors' optimizer groups): the Follower moves faster through its
    // learning rate; a shared adapter gets the Follower's weight in the loss instead.
    this.follower = trainable(adapter, separate ? s.followerWeight : 1);
    this.leader = separate ? trainable(leaderStart ?? initLoraAdapter(policy.config, adapter.config, s.seed + 1), 1) : this.follower;
    this.leaderAdapter = separate ? this.leader.adapter : null;
    this.params = this.follower.params;
    this.optimizer = this.follower.optimizer;
  }

  /** The adapter whose policy plays `role` (the Leader's is the frozen base when it does not train: see online). */
  adapterOf(role: Role): LoraAdapter {
    return role === 'leader' ? this.leader.adapter : this.follower.adapter;
  }

  /**
   * Which players optimizer step `step` (1-based) trains. leaderEvery = 1: both at once. k > 1
   * (the authors' leader_update_frequency): steps k, 2k, ... the Leader alone, the others the
   * Follower alone. A frozen Leader: the Follower always.
   */
  rolesOf(step: number): { leader: boolean; follower: boolean } {
    if (!this.s.trainLeader) return { leader: false, follower: true };
    if (this.s.leaderEvery === 1) return { leader: true, follower: true };
    const leader = step % this.s.leaderEvery === 0;
    return { leader, follower: !leader };
  }

  /** An SLHF step on the samples of the roles this step trains. */
  async step(step: number, epoch: number, batches: Sample[][], reference: Map<Sample, number[]>, scores: Map<Sample, GameScore>): Promise<StepProgress> {
    const roles = this.rolesOf(step);
    const micro = batches.map((b) => b.filter((x) => roles[x.role])).filter((b) => b.length > 0);
    return this.stepWith(step, epoch, micro, slhfObjective(this.s, reference, scores));
  }

  async stepWith(step: number, epoch: number, micro: Sample[][], objective: StepObjective): Promise<StepProgress> {
    const { policy, s, hooks } = this;
    if (hooks.cancelled?.()) throw new TrainingCancelledError(`training cancelled at step ${step} of ${this.totalSteps}`);
    const count = micro.reduce((n, b) => n + b.length, 0);
    const players = [...new Set([this.follower, this.leader])];
    const sums = new Map(players.map((p) => [p, new Map<string, Float32Array>([...p.params].map(([name, v]) => [name, new Float32Array(v.length)]))]));
    const used = new Set<Trainable>();
    const stats = { follower: [0, 0, 0], leader: [0, 0, 0], kl: 0 }; // [loss, score, count]
    let loss = 0;
    for (const whole of micro) {
      for (const player of players) {
        // One adapter: the whole micro-batch. Separate adapters: each role's rows with its own.
        const batch = players.length === 1 ? whole : whole.filter((x) => (x.role === 'leader' ? this.leader : this.follower) === player);
        if (batch.length === 0) continue;
        used.add(player);
        const feeds = policy.adapterFeeds(player.adapter);
        const rows = batch.map(sampleRow);
        const current = objective.probe ? await policy.logprobs(rows, feeds) : null;
        const terms = objective.terms(batch, current, micro);
        const result = await policy.gradients(rows, terms.map((t) => t.coef), feeds);
        loss += result.loss;
        const playerSums = sums.get(player)!;
        for (const [name, g] of result.grads) {
          const sum = playerSums.get(name)!;
          for (let i = 0; i < g.length; i++) sum[i] += g[i];
        }
        this.tokens += rows.reduce((n, r) => n + r.ids.length, 0);
        batch.forEach((x, i) => {
          const acc = x.role === 'follower' ? stats.follower : stats.leader;
          acc[0] += terms[i].loss;
          acc[1] += x.score;
          acc[2] += 1;
          stats.kl += terms[i].kl / count;
        });
      }
    }
    // One norm over everything the step trains (both adapters when separate), as one optimizer would.
    const all = new Map<string, Float32Array>();
    players.forEach((p, k) => sums.get(p)!.forEach((g, name) => all.set(`${k}:${name}`, g)));
    const { norm } = clipGradNorm(all, s.maxGradNorm);
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
    // A player without samples this step (alternating steps, separate adapters) keeps still: an
    // Adam step on zero gradients would still move it along its momentum.
    for (const player of used) player.optimizer.step(sums.get(player)!, lr * player.lrFactor);
    this.last = progress;
    hooks.onStep?.(progress);
    if (hooks.onCheckpoint && s.checkpointEvery > 0 && step % s.checkpointEvery === 0 && step < this.totalSteps) {
      await hooks.onCheckpoint(this.adapter, this.optimizer, step);
    }
    return progress;
  }
}

/**
 * Offline SLHF on game samples (mapped from decisions by src/store's game.ts): the scores and
 * baselines come from all of them. `leaderStart`: the Leader's own adapter to continue from
 * (separateAdapters only).
 */
export async function trainSamples(policy: Policy, samples: Sample[], s: TrainSettings, hooks: TrainHooks = {}, start?: LoraAdapter, leaderStart?: LoraAdapter): Promise<TrainResult> {
  if (samples.length === 0) throw new Error('training: no samples (no usable preference pairs)');
  const adapter = start ?? initLoraAdapter(policy.config, s.lora, s.seed);
  const reference = await referenceLogprobs(policy, samples, policy.adapterFeeds(zeroAdapter(adapter)), s.batchSize);
  const scores = gameScores(samples, s, policy.config.eosTokenIds);
  return trainEpochs(policy, samples, s, hooks, adapter, (runner, step, epoch, batches) => runner.step(step, epoch, batches, reference, scores), leaderStart);
}

/**
 * Optimizer steps over fixed samples in shuffled, length-bucketed epochs (offline SLHF and
 * supervised fine-tuning): `steps`, or as many as `epochs` passes take.
 */
export async function trainEpochs(
  policy: Policy, samples: Sample[], s: TrainSettings, hooks: TrainHooks, adapter: LoraAdapter,
  takeStep: (runner: StepRunner, step: number, epoch: number, batches: Sample[][]) => Promise<StepProgress>, leaderStart?: LoraAdapter,
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
  const runner = new StepRunner(policy, adapter, s, hooks, totalSteps, leaderStart);
  for (let step = 1; step <= totalSteps; step++) {
    const batches = Array.from({ length: s.accumulate }, nextBatch);
    await takeStep(runner, step, epoch, batches);
  }
  return { adapter, leaderAdapter: runner.leaderAdapter ?? undefined, steps: totalSteps, skippedSteps: runner.skippedSteps, samples: samples.length, last: runner.last };
}
