// The SLHF objective (StackelbergGDA, arXiv 2512.16626) as per-token coefficients. Every quantity
// in a coefficient is detached (computed on the CPU from log-probs the graph already produced), so
// the training graph's loss is sum_t coef_t * l_t and its gradient is exactly the REINFORCE gradient
//   sum_t w_t (beta * kl_t - (score - b)) * grad l_t
// with w_t the truncated importance weight and kl_t the chosen per-token KL estimator.

export type KlEstimator = 'k1' | 'k2' | 'k3';
export const KL_ESTIMATORS: readonly KlEstimator[] = ['k1', 'k2', 'k3'];

/** Which policy a sampled sequence came from (and which term of the game it enters). */
export type Role = 'leader' | 'follower';

export interface ObjectiveSettings {
  /** KL penalty weight (paper: about 1e-3). */
  beta: number;
  kl: KlEstimator;
  /** Score baseline b (paper: 0.5). */
  baseline: number;
  /** lambda_F: the Follower term's weight in leader + lambda_F * follower (two-timescale, > 1). */
  followerWeight: number;
  /** Truncation c of the importance weights min(exp(l_t - behaviour_t), c). */
  isClip: number;
}

/** Per-token KL estimate of the trained policy (l) against the reference (r), both log-probs. */
export function klEstimate(kind: KlEstimator, l: number, r: number): number {
  const d = r - l;
  switch (kind) {
    case 'k1': return l - r;
    case 'k2': return 0.5 * d * d;
    case 'k3': return Math.exp(d) - 1 - d;
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
  /** Leader: p = P(y > y'); Follower: 1 - p. */
  score: number;
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
 * coef_t = scale * roleWeight * w_t * (beta * kl_t - (score - b)), roleWeight = followerWeight for
 * the Follower and 1 for the Leader; `scale` normalizes over the sequences of an optimizer step.
 */
export function termCoefficients(term: SequenceTerm, s: ObjectiveSettings, scale = 1): TermCoefficients {
  const n = term.logprobs.length;
  if (term.reference.length !== n) throw new Error(`objective: ${term.reference.length} reference log-probs for ${n} tokens`);
  const w = importanceWeights(term.logprobs, term.behaviour, s.isClip);
  const roleWeight = term.role === 'follower' ? s.followerWeight : 1;
  const advantage = term.score - s.baseline;
  const coef: number[] = new Array(n);
  let klSum = 0;
  let loss = 0;
  for (let t = 0; t < n; t++) {
    const kl = klEstimate(s.kl, term.logprobs[t], term.reference[t]);
    klSum += kl;
    coef[t] = scale * roleWeight * w[t] * (s.beta * kl - advantage);
    loss += coef[t] * term.logprobs[t];
  }
  return { coef, kl: n ? klSum / n : 0, loss };
}
