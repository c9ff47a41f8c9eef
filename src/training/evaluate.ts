// Held-out evaluation: preference accuracy of the trained Follower's log-prob margin over the frozen
// base, and a KL estimate to the base on the held-out texts.
import type { Feed } from '../onnx';
import type { ScoreRow } from '../models/score';
import type { TrainingPair } from './data';
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
