// Held-out evaluation: whether training moved the policy's log-prob of held-out texts (its margin
// over the frozen base) the way the decisions say, and a KL estimate to the base on those texts.
// Game samples: a sample that won (score above 0.5) should gain probability, one that lost should
// lose it. Pairs (the DPO baseline): the chosen side should gain more than the rejected one.
import type { Feed } from '../onnx';
import type { ScoreRow } from '../models/score';
import type { Sample, TrainingPair } from './data';
import { klEstimate } from './objective';
import type { Policy } from './policy';
import { sampleRow } from './trainer';

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

/** What both evaluations report, from one signed margin per item (positive: moved as the decision says). */
interface Tally {
  signed: number[];
  klSum: number;
  klTokens: number;
}

const newTally = (): Tally => ({ signed: [], klSum: 0, klTokens: 0 });

function addKl(t: Tally, now: number[], ref: number[]): void {
  now.forEach((l, i) => { t.klSum += klEstimate('k3', l, ref[i]); t.klTokens += 1; });
}

function summary(t: Tally): { accuracy: number; ties: number; meanMarginGap: number; kl: number } {
  const n = t.signed.length;
  const correct = t.signed.filter((d) => d > 0).length;
  const ties = t.signed.filter((d) => d === 0).length;
  return { accuracy: (correct + ties / 2) / n, ties, meanMarginGap: sum(t.signed) / n, kl: t.klSum / Math.max(t.klTokens, 1) };
}

export async function evaluatePairs(policy: Policy, pairs: TrainingPair[], trained: Record<string, Feed>, base: Record<string, Feed>, batchSize = 16): Promise<EvalResult> {
  if (pairs.length === 0) return { accuracy: NaN, pairs: 0, ties: 0, meanMarginGap: NaN, kl: NaN };
  const tally = newTally();
  for (let i = 0; i < pairs.length; i += batchSize) {
    const chunk = pairs.slice(i, i + batchSize);
    const rows: ScoreRow[] = chunk.flatMap((p) => [p.chosen, p.rejected].map((side) => ({ ids: [...p.followerPrompt, ...side.ids], from: p.followerPrompt.length })));
    const now = await policy.logprobs(rows, trained);
    const ref = await policy.logprobs(rows, base);
    const margin = (k: number) => sum(now[k]) - sum(ref[k]);
    chunk.forEach((_, j) => tally.signed.push(margin(2 * j) - margin(2 * j + 1)));
    rows.forEach((_, k) => addKl(tally, now[k], ref[k]));
  }
  return { ...summary(tally), pairs: pairs.length };
}

/** With no scored sample (nothing held out) the metrics are null, not NaN: JSON, IPC and meta.json keep null as is. */
export interface SampleEvalResult {
  /** Fraction of scored samples whose margin has the sign of (score - 0.5); ties (margin 0) count one half. */
  accuracy: number | null;
  samples: number;
  ties: number;
  /** Mean over samples of sign(score - 0.5) * margin, margin = log p_trained - log p_base (nats). */
  meanMarginGap: number | null;
  /** Mean per-token k3 estimate of KL(trained || base) on the held-out completions. */
  kl: number | null;
}

/** Samples scored exactly 0.5 say nothing about direction and are left out. */
export async function evaluateSamples(policy: Policy, samples: Sample[], trained: Record<string, Feed>, base: Record<string, Feed>, batchSize = 16): Promise<SampleEvalResult> {
  const scored = samples.filter((x) => x.score !== 0.5);
  if (scored.length === 0) return { accuracy: null, samples: 0, ties: 0, meanMarginGap: null, kl: null };
  const tally = newTally();
  for (let i = 0; i < scored.length; i += batchSize) {
    const chunk = scored.slice(i, i + batchSize);
    const rows = chunk.map(sampleRow);
    const now = await policy.logprobs(rows, trained);
    const ref = await policy.logprobs(rows, base);
    chunk.forEach((x, j) => {
      tally.signed.push(Math.sign(x.score - 0.5) * (sum(now[j]) - sum(ref[j])));
      addKl(tally, now[j], ref[j]);
    });
  }
  return { ...summary(tally), samples: scored.length };
}
