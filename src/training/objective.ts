// The SLHF objective (StackelbergGDA, arXiv 2512.16626) as per-token coefficients. Every quantity
// in a coefficient is detached (computed on the CPU from log-probs the graph already produced), so
// the training graph's loss is sum_t coef_t * l_t and its gradient is exactly the REINFORCE gradient
//   sum_t w_t (beta * kl_t - (score - b)) * grad l_t
// with w_t the truncated importance weight and kl_t the chosen per-token KL estimator. The baseline
// b is the constant 0.5 or, for a sample whose context was answered several times, the mean score
// of the other answers (leave-one-out, RLOO).

import type { Role } from '../base/generation-record';

export type KlEstimator = 'k1' | 'k2' | 'k3';
export const KL_ESTIMATORS: readonly KlEstimator[] = ['k1', 'k2', 'k3'];

/** Which policy a sampled sequence came from (and which term of the game it enters). */
export type { Role } from '../base/generation-record';

export interface ObjectiveSettings {
  /** KL penalty weight (paper: about 1e-3); the Leader's, and the Follower's unless followerBeta is set. */
  beta: number;
  /** The Follower's KL penalty weight; absent or null: beta. */
  followerBeta?: number | null;
  kl: KlEstimator;
  /** Constant score baseline b (paper: 0.5), for samples alone in their group (see sampleBaselines). */
  baseline: number;
  /**
   * lambda_F: the Follower term's weight in leader + lambda_F * follower (two-timescale, > 1) with
   * one shared adapter. With separate adapters the trainer passes 1 here and scales the Follower's
   * learning rate instead.
   */
  followerWeight: number;
  /** Truncation c of the importance weights min(exp(l_t - behaviour_t), c). */
  isClip: number;
}

/**
 * k3's log-ratio r - l is clamped to +-40 before the exponential (as the authors do): one token the
 * policy has all but ruled out would otherwise give an infinite coefficient and a skipped step.
 */
export const K3_LOG_RATIO_CLAMP = 40;

/** Per-token KL estimate of the trained policy (l) against the reference (r), both log-probs. */
export function klEstimate(kind: KlEstimator, l: number, r: number): number {
  const d = r - l;
  switch (kind) {
    case 'k1': return l - r;
    case 'k2': return 0.5 * d * d;
    case 'k3': {
      const c = Math.min(Math.max(d, -K3_LOG_RATIO_CLAMP), K3_LOG_RATIO_CLAMP);
      return Math.expm1(c) - c;
    }
  }
}

/**
 * Truncated importance weights min(exp(l_t - behaviour_t), c). Without behaviour log-probs (user
 * text, edits, imported pairs) the sequence is treated as on-policy: every weight is 1.
 */
export function importanceWeights(current: number[], behaviour: number[] | null, clip: number): number[] {
  if (!behaviour) return current.map(() => 1);
  if (behaviour.length !== current.length) {
    throw new Error(`importance weights: ${behaviour.length} behaviour log-probs for ${current.length} tokens`);
  }
  return current.map((l, t) => Math.min(Math.exp(l - behaviour[t]), clip));
}

/** One sampled sequence's place in the objective. */
export interface SequenceTerm {
  role: Role;
  /** Leader: p = P(y > y'); Follower: 1 - p (less any missing-EOS penalty, see penalizedScore). */
  score: number;
  /** The sample's baseline b (see sampleBaselines); absent: the constant settings.baseline. */
  baseline?: number;
  /** l_t under the policy being trained (detached). */
  logprobs: number[];
  /** r_t under the frozen reference. */
  reference: number[];
  /** Log-probs the sequence was sampled with, or null when unknown. */
  behaviour: number[] | null;
}

export interface TermCoefficients {
  coef: number[];
  /** Mean kl_t over the sequence (the estimator's value, for progress reports). */
  kl: number;
  /** Surrogate loss of the sequence sum_t coef_t * l_t (scaled like coef). */
  loss: number;
}

/**
 * coef_t = scale * roleWeight * w_t * (beta_role * kl_t - (score - b)), roleWeight = followerWeight
 * for the Follower and 1 for the Leader, beta_role = followerBeta (else beta) for the Follower;
 * `scale` normalizes over the sequences of an optimizer step.
 */
export function termCoefficients(term: SequenceTerm, s: ObjectiveSettings, scale = 1): TermCoefficients {
  const n = term.logprobs.length;
  if (term.reference.length !== n) throw new Error(`objective: ${term.reference.length} reference log-probs for ${n} tokens`);
  const w = importanceWeights(term.logprobs, term.behaviour, s.isClip);
  const follower = term.role === 'follower';
  const roleWeight = follower ? s.followerWeight : 1;
  const beta = follower ? (s.followerBeta ?? s.beta) : s.beta;
  const advantage = term.score - (term.baseline ?? s.baseline);
  const coef: number[] = new Array(n);
  let klSum = 0;
  let loss = 0;
  for (let t = 0; t < n; t++) {
    const kl = klEstimate(s.kl, term.logprobs[t], term.reference[t]);
    klSum += kl;
    coef[t] = scale * roleWeight * w[t] * (beta * kl - advantage);
    loss += coef[t] * term.logprobs[t];
  }
  return { coef, kl: n ? klSum / n : 0, loss };
}

/**
 * The score a sample enters the objective with: its judged score less `eosPenalty` when the
 * completion never produced an end-of-sequence token (the authors' missing_eos_probability_penalty:
 * it pushes both players towards finished answers). `complete`: the completion holds an EOS token.
 */
export function penalizedScore(score: number, complete: boolean, eosPenalty: number): number {
  return complete ? score : score - eosPenalty;
}

/** What the baseline of a sample depends on: its role, its group and its (penalized) score. */
export interface GroupedScore {
  role: Role;
  group?: string;
  score: number;
}

/**
 * Each sample's baseline b. With `rloo`, a sample in a group of n >= 2 samples of its role gets the
 * mean score of the other n - 1 (leave-one-out: unbiased, and it centres the advantages within the
 * context, so a context every answer wins or loses in teaches nothing); a sample alone in its group
 * gets the constant `baseline`. The authors take the leave-one-out mean over the whole batch; here
 * the group is the context (the same x for the Leader, the same (x, y) for the Follower), which
 * also removes the context's own difficulty from the advantage.
 */
export function sampleBaselines(samples: readonly GroupedScore[], s: { baseline: number; rloo: boolean }): number[] {
  const key = (x: GroupedScore) => `${x.role}\u0000${x.group}`;
  const totals = new Map<string, { sum: number; n: number }>();
  if (s.rloo) {
    for (const x of samples) {
      if (x.group === undefined) continue;
      const t = totals.get(key(x)) ?? { sum: 0, n: 0 };
      t.sum += x.score;
      t.n += 1;
      totals.set(key(x), t);
    }
  }
  return samples.map((x) => {
    const t = x.group === undefined ? undefined : totals.get(key(x));
    return t && t.n >= 2 ? (t.sum - x.score) / (t.n - 1) : s.baseline;
  });
}
