// Supervised warm start: plain next-token loss on (prompt, target) pairs, -mean log p(target
// tokens) over the step's target tokens, through the same LoRA training graph and step loop as
// SLHF (AdamW, schedule, clipping, accumulation, NaN guard, seed). The graph's loss is
// sum_t coef_t * l_t, so SFT is the constant coefficient -1 / T; no probe or reference is needed.
import { initLoraAdapter, type LoraAdapter } from '../src/models/lora';
import { TrainingInputError, type Sample } from '../src/training/data';
import type { Policy } from '../src/training/policy';
import type { TrainSettings } from '../src/training/settings';
import { trainEpochs, type StepObjective, type TrainHooks, type TrainResult } from '../src/training/trainer';

/** One supervised example in token ids: the model should continue `prompt` with `target`. */
export interface SftExample {
  prompt: number[];
  /** The target tokens (the end-of-turn token included when the model should stop there). */
  target: number[];
}

export function validateSftExample(example: SftExample, index: number, vocabSize: number): void {
  for (const [what, ids] of [['prompt', example.prompt], ['target', example.target]] as const) {
    if (ids.length === 0) throw new TrainingInputError(`SFT example ${index}: empty ${what}`);
    const bad = ids.find((id) => !(Number.isInteger(id) && id >= 0 && id < vocabSize));
    if (bad !== undefined) throw new TrainingInputError(`SFT example ${index}: ${what} has token id ${bad} outside the vocabulary (0..${vocabSize - 1})`);
  }
}

// SFT samples reuse the trainer's Sample shape; score, behaviour and reference play no part.
const sampleOf = (e: SftExample): Sample => ({ role: 'follower', prompt: e.prompt, completion: e.target, score: 1, behaviour: null, referencePrompt: e.prompt });

/** -mean log p over all target tokens of the step (every micro-batch of it). */
export const sftObjective: StepObjective = {
  probe: false,
  // Per-sequence losses are unknown without a probe (0 here); the step reports the graph's total.
  terms(batch, _current, micro) {
    const tokens = micro.reduce((n, b) => n + b.reduce((m, x) => m + x.completion.length, 0), 0);
    return batch.map((x) => ({ coef: x.completion.map(() => -1 / tokens), kl: 0, loss: 0 }));
  },
};

/**
 * Supervised fine-tuning of a LoRA adapter (new from the seed, or `start` to continue). Progress
 * reports `loss` = the step's -mean log p of the target tokens; kl is 0.
 */
export async function trainSft(policy: Policy, examples: SftExample[], s: TrainSettings, hooks: TrainHooks = {}, start?: LoraAdapter): Promise<TrainResult> {
  if (examples.length === 0) throw new TrainingInputError('SFT: no examples');
  examples.forEach((e, i) => validateSftExample(e, i, policy.config.vocabSize));
  const adapter = start ?? initLoraAdapter(policy.config, s.lora, s.seed);
  return trainEpochs(policy, examples.map(sampleOf), s, hooks, adapter, (runner, step, epoch, batches) => runner.stepWith(step, epoch, batches, sftObjective));
}

/** Mean log-prob per target token of the examples under an adapter (no dropout). */
export async function meanTargetLogprob(policy: Policy, examples: SftExample[], adapter: LoraAdapter, batchSize = 8): Promise<number> {
  const feeds = policy.adapterFeeds(adapter);
  let sum = 0;
  let tokens = 0;
  for (let i = 0; i < examples.length; i += batchSize) {
    const chunk = examples.slice(i, i + batchSize);
    const lps = await policy.logprobs(chunk.map((e) => ({ ids: [...e.prompt, ...e.target], from: e.prompt.length })), feeds);
    for (const row of lps) {
      for (const l of row) sum += l;
      tokens += row.length;
    }
  }
  return sum / tokens;
}
