// Held-out evaluation: whether training moved the policy's log-prob of held-out texts (its margin
// over the frozen base) the way the decisions say, and a KL estimate to the base on those texts.
// Game samples: a sample that won (score above 0.5) should gain probability, one that lost should
// lose it. Pairs (the DPO baseline): the chosen side should gain more than the rejected one.
import type { Feed } from '../onnx';
import type { ScoreRow } from '../models/score';
import type { Sample, TrainingPair } from './data';
import { klEstimate } from './objective';
import type { Policy } from './policy';

export interface EvalResult {
  /** Fraction of pairs where margin(chosen) > margin(rejected); ties count one half. */
  accuracy: number;
  pairs: number;
  ties: number;
  /** Mean over pairs of margin(chosen) - margin(rejected), margin = log p_trained - log p_base (nats). */
  meanMarginGap: number;
  /** Mean per-token k3 estimate of KL(trained || base) on the held-out completions. */
  kl: number;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

export async function evaluatePairs(policy: Policy, pairs: TrainingPair[], trained: Record<string, Feed>, base: Record<string, Feed>, batchSize = 16): Promise<EvalResult> {
  if (pairs.length === 0) return { accuracy: NaN, pairs: 0, ties: 0, meanMarginGap: NaN, kl: NaN };
  let correct = 0;
  let ties = 0;
  let gap = 0;
  let klSum = 0;
  let klTokens = 0;
  for (let i = 0; i < pairs.length; i += batchSize) {
    const chunk = pairs.slice(i, i + batchSize);
    const rows: ScoreRow[] = chunk.flatMap((p) => [p.chosen, p.rejected].map((side) => ({ ids: [...p.followerPrompt, ...side.ids], from: p.followerPrompt.length })));
    const now = await policy.logprobs(rows, trained);
    const ref = await policy.logprobs(rows, base);
    chunk.forEach((_, j) => {
      const margin = (k: number) => sum(now[k]) - sum(ref[k]);
      const d = margin(2 * j) - margin(2 * j + 1);
      if (d > 0) correct += 1;
      else if (d === 0) ties += 1;
      gap += d;
    });
    rows.forEach((_, k) => now[k].forEach((l, t) => { klSum += klEstimate('k3', l, ref[k][t]); klTokens += 1; }));
  }
  return { accuracy: (correct + ties / 2) / pairs.length, pairs: pairs.length, ties, meanMarginGap: gap / pairs.length, kl: klSum / Math.max(klTokens, 1) };
}

export interface SampleEvalResult {
  /** Fraction of scored samples whose margin has the sign of (score - 0.5); ties (margin 0) count one half. */
  accuracy: number;
  samples: number;
  ties: number;
  /** Mean over samples of sign(score - 0.5) * margin, margin = log p_trained - log p_base (nats). */
  meanMarginGap: number;
  /** Mean per-token k3 estimate of KL(trained || base) on the held-out completions. */
  kl: number;
}

/** Samples scored exactly 0.5 say nothing about direction and are left out. */
export async function evaluateSamples(policy: Policy, samples: Sample[], trained: Record<string, Feed>, base: Record<string, Feed>, batchSize = 16): Promise<SampleEvalResult> {
  const scored = samples.filter((x) => x.score !== 0.5);
  let correct = 0;
  let ties = 0;
  let gap = 0;
  let klSum = 0;
  let klTokens = 0;
  for (let i = 0; i < scored.length; i += batchSize) {
    const chunk = scored.slice(i, i + batchSize);
    const rows: ScoreRow[] = chunk.map((x) => ({ ids: [...x.prompt, ...x.completion], from: x.prompt.length, ...(x.temperature !== undefined ? { temperature: x.temperature } : {}) }));
    const now = await policy.logprobs(rows, trained);
    const ref = await policy.logprobs(rows, base);
    chunk.forEach((x, j) => {
      const signed = Math.sign(x.score - 0.5) * (sum(now[j]) - sum(ref[j]));
      if (signed > 0) correct += 1;
      else if (signed === 0) ties += 1;
      gap += signed;
      now[j].forEach((l, t) => { klSum += klEstimate('k3', l, ref[j][t]); klTokens += 1; });
    });
  }
  const n = scored.length;
  return n === 0
    ? { accuracy: NaN, samples: 0, ties: 0, meanMarginGap: NaN, kl: NaN }
    : { accuracy: (correct + ties / 2) / n, samples: n, ties, meanMarginGap: gap / n, kl: klSum / Math.max(klTokens, 1) };
}
