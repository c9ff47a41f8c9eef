// Token choice with a seeded generator, and the log-probs training needs, both from one step's logits.
// The one home of both: the refiner's decoding loop and training's online sampler call chooseToken, so
// the behaviour log-probs they record are the same function of the logits (log softmax(logits / T) at
// the token), which the trainer's log-prob graph recomputes. transformers.js 4.3 samples with its own
// global Math-style generator and has no top-p, so the whole choice happens here.
import type { SamplingSettings } from '../base/generation-record';

export interface TokenChoice {
  token: number;
  /** log softmax(raw logits / T) at the token, over the full vocabulary (T = 1 when greedy). */
  logprob: number;
  /** log-prob under the filtered distribution the token was drawn from; 0 when greedy. */
  samplingLogprob: number;
}

/**
 * The model's output is not a distribution (NaN or +Infinity somewhere, or every logit -Infinity):
 * its weights are broken. Without this check the greedy argmax took token 0 and the text came out as
 * NUL characters, refused later by the store with a misleading message.
 */
export class ModelOutputError extends Error {
  override name = 'ModelOutputError';
}

/** Tokens whose tempered logit is this far below the best carry < e^-30 each: left out of top-p. */
const NEGLIGIBLE = 30;

/** The first index of the largest value. */
export function argmaxOf(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/**
 * log sum exp(values * scale) and the first index of the largest value, in one pass: the running
 * sum is rescaled whenever the maximum grows, so a greedy step reads its logits once.
 */
function logSumExpArgmax(values: ArrayLike<number>, scale: number): { normalizer: number; argmax: number } {
  let max = -Infinity;
  let sum = 0;
  let argmax = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] * scale;
    if (v > max) {
      sum = sum * Math.exp(max - v) + 1;
      max = v;
      argmax = i;
    } else if (v !== -Infinity) sum += Math.exp(v - max); // NaN gets here too, and spoils the sum
  }
  return { normalizer: max + Math.log(sum), argmax };
}

export type SamplingParams = Pick<SamplingSettings, 'temperature' | 'topP' | 'topK' | 'repetitionPenalty'>;

/** Plain sampling from softmax(logits / T): no penalty, no filters (online training's samples). */
export function temperedSampling(temperature: number): SamplingParams {
  return { temperature, topP: 1, topK: 0, repetitionPenalty: 1 };
}

/**
 * Chooses the next token. Order as in Hugging Face: repetition penalty, temperature, top-k, top-p.
 * The recorded `logprob` ignores the penalty and the filters: it is the model's own tempered
 * distribution, which is what the trainer recomputes; `samplingLogprob` is the behaviour policy exactly.
 */
export function chooseToken(logits: Float32Array, previous: Iterable<number>, params: SamplingParams, random: () => number, logSumExp?: number): TokenChoice {
  const greedy = params.temperature === 0;
  const scale = greedy ? 1 : 1 / params.temperature;
  // At scale 1 the graph's log sum exp of the row (graphs.ts LOGSUMEXP), when given, saves the
  // exp of every logit; the argmax is then a plain comparison pass.
  const { normalizer, argmax } = scale === 1 && logSumExp !== undefined ? { normalizer: logSumExp, argmax: argmaxOf(logits) } : logSumExpArgmax(logits, scale);
  // One NaN or +Infinity makes the normalizer NaN; all -Infinity makes it -Infinity: free to check.
  if (!Number.isFinite(normalizer)) {
    throw new ModelOutputError('the model produced non-finite logits: its weights are broken (NaN or infinite values). Re-download or re-export the model.');
  }
  let penalized: Float32Array = logits;
  if (params.repetitionPenalty !== 1) {
    penalized = Float32Array.from(logits);
    for (const id of new Set(previous)) {
      const v = penalized[id];
      penalized[id] = v < 0 ? v * params.repetitionPenalty : v / params.repetitionPenalty;
    }
  }
  const pick = (token: number, samplingLogprob: number): TokenChoice => ({ token, logprob: logits[token] * scale - normalizer, samplingLogprob });
  // Greedy without a penalty: the argmax of the pass above; no copy, no sort.
  if (greedy && penalized === logits) return pick(argmax, 0);
  if (greedy) return pick(argmaxOf(penalized), 0);
  let max = -Infinity;
  for (let i = 0; i < penalized.length; i++) max = Math.max(max, penalized[i] * scale);
  // Candidates, best first; far-below tokens cannot change which tokens top-p keeps.
  let candidates: number[] = [];
  for (let i = 0; i < penalized.length; i++) if (penalized[i] * scale >= max - NEGLIGIBLE) candidates.push(i);
  candidates.sort((a, b) => penalized[b] - penalized[a] || a - b);
  if (params.topK > 0) candidates = candidates.slice(0, params.topK);
  const weights = candidates.map((i) => Math.exp(penalized[i] * scale - max));
  let total = weights.reduce((a, b) => a + b, 0);
  if (params.topP < 1) {
    // Keep the smallest prefix whose mass reaches topP (at least one token), as Hugging Face does.
    let kept = 0;
    let mass = 0;
    while (kept < weights.length && (kept === 0 || mass / total < params.topP)) mass += weights[kept++];
    candidates = candidates.slice(0, kept);
    weights.length = kept;
    total = mass;
  }
  let x = random() * total;
  let chosen = candidates.length - 1;
  for (let j = 0; j < candidates.length; j++) {
    x -= weights[j];
    if (x < 0) {
      chosen = j;
      break;
    }
  }
  return pick(candidates[chosen], Math.log(weights[chosen] / total));
}
