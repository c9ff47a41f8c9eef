// The intransitive task's metric, computed exactly instead of sampled: for a clean draft
// "stem + ending d", the Follower's probability of each of the three answers "stem + ending k"
// (teacher-forced, end-of-turn included, at the sampling temperature) gives
//   E[1 - p] = sum_k P(k | d) (1 - p(d > k)),
// and every other answer (a changed stem, another mark) loses for every annotator: it scores 0.
// The optimum is 2/3 (always the best response); any answer that ignores the draft scores at most
// 1/2 on drafts whose endings are uniform, and so does copying the draft.
import type { Feed } from '../../src/onnx';
import type { Policy } from '../../src/training/policy';
import { bestResponse, ENDINGS, preference } from './judge';
import type { BenchModel } from './model';
import { withEnding } from './tasks';
import { scoreRow } from './estimators';

/** The Follower's probabilities of the three proper answers to one draft. */
export interface EndingProbs {
  stem: string;
  /** The draft's ending. */
  draft: number;
  /** P(stem + ENDINGS[k] | draft), k = 0..2; 1 - their sum is the mass on every other answer. */
  probs: number[];
}

/** E[1 - p] of one draft's answer distribution. */
export function expectedScore(x: EndingProbs): number {
  const draft = withEnding(x.stem, x.draft);
  return x.probs.reduce((sum, pk, k) => sum + pk * (1 - preference(draft, withEnding(x.stem, k), x.stem)), 0);
}

export interface IntransitiveSummary {
  /** Mean E[1 - p] over stems and draft endings (uniform). */
  score: number;
  /** Per draft ending: the mean probability of its best response. */
  bestResponse: number[];
  /** Per draft ending: the mean probability of answering with the same ending (copying). */
  copy: number[];
  /** Mean mass on answers other than the three proper ones. */
  other: number;
}

export function summarize(all: EndingProbs[]): IntransitiveSummary {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
  const byDraft = (d: number) => all.filter((x) => x.draft === d);
  return {
    score: mean(all.map(expectedScore)),
    bestResponse: ENDINGS.map((_, d) => mean(byDraft(d).map((x) => x.probs[bestResponse(d)]))),
    copy: ENDINGS.map((_, d) => mean(byDraft(d).map((x) => x.probs[d]))),
    other: mean(all.map((x) => 1 - x.probs.reduce((a, b) => a + b, 0))),
  };
}

/** The Follower's answer probabilities for every stem and draft ending, under the given LoRA feeds. */
export async function endingProbabilities(policy: Policy, model: BenchModel, lora: Record<string, Feed>, stems: readonly string[], temperature: number): Promise<EndingProbs[]> {
  const cases = stems.flatMap((stem) => ENDINGS.map((_, d) => ({ stem, draft: d, prompt: model.followerPrompt(stem, withEnding(stem, d)) })));
  const rows = cases.flatMap((c) => ENDINGS.map((_, k) => scoreRow(c.prompt, model.completion(withEnding(c.stem, k)), temperature)));
  const logprobs: number[][] = [];
  for (let i = 0; i < rows.length; i += 48) logprobs.push(...(await policy.logprobs(rows.slice(i, i + 48), lora)));
  return cases.map((c, i) => ({
    stem: c.stem, draft: c.draft,
    probs: ENDINGS.map((_, k) => Math.exp(logprobs[i * ENDINGS.length + k].reduce((a, b) => a + b, 0))),
  }));
}
