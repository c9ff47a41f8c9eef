// Sampling settings, the errors users see, and the records a generation leaves behind. The shared
// record parts come from src/base/generation-record.ts; the rest mirrors src/store/schema.ts
// (GenerationInfo, FollowerRound) structurally, since the store sits on the same layer, and
// test/unit/refiner/schema-compat.test.ts keeps the two in step.
import type { GenerationPrompt, GenerationTimings, SamplingSettings } from '../base/generation-record';
import type { Role } from '../base/generation-record';

/** A problem with the user's input or settings; the message is meant for the user as is. */
export class RefinerInputError extends Error {
  override name = 'RefinerInputError';
}

export interface GenerationSettings {
  maxNewTokens: number;
  /** 0 decodes greedily. */
  temperature: number;
  /** 1 disables nucleus filtering. */
  topP: number;
  /** 0 disables top-k filtering. */
  topK: number;
  /** 1 disables the penalty (Hugging Face semantics: positive logits divided, negative multiplied). */
  repetitionPenalty: number;
  /** null draws a fresh seed; the seed actually used is recorded either way. */
  seed: number | null;
}

/**
 * The most Follower rounds and new tokens one refinement may ask for: the maxima package.json's
 * settings schema declares, which VS Code only hints at (a hand-edited settings.json is not checked):
 * the editor clamps both (src/ui/generation-settings.ts), `slhf refine` refuses more, and so do
 * resolveSettings and the refinement loop. test/unit/refiner/limits-settings.test.ts keeps them equal to the schema.
 */
export const MAX_ROUNDS = 8;
export const MAX_NEW_TOKENS = 4096;

export const DEFAULT_SETTINGS: GenerationSettings = {
  maxNewTokens: 256, temperature: 0.7, topP: 1, topK: 0, repetitionPenalty: 1, seed: null,
};

function check(ok: boolean, what: string, value: unknown): void {
  if (!ok) throw new RefinerInputError(`${what}, got ${JSON.stringify(value)}.`);
}

const defined = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/**
 * Fills in defaults and refuses values generation cannot honour. What the user set wins; then the
 * model's own defaults (samplingDefaults of its generation_config.json); then DEFAULT_SETTINGS.
 */
export function resolveSettings(partial: Partial<GenerationSettings> = {}, modelDefaults: Partial<GenerationSettings> = {}): GenerationSettings {
  const s = { ...DEFAULT_SETTINGS, ...defined(modelDefaults), ...defined(partial) };
  check(Number.isInteger(s.maxNewTokens) && s.maxNewTokens >= 1 && s.maxNewTokens <= MAX_NEW_TOKENS, `maxNewTokens must be an integer from 1 to ${MAX_NEW_TOKENS}`, s.maxNewTokens);
  check(Number.isFinite(s.temperature) && s.temperature >= 0, 'temperature must be a number >= 0', s.temperature);
  check(Number.isFinite(s.topP) && s.topP > 0 && s.topP <= 1, 'topP must be in (0, 1]', s.topP);
  check(Number.isInteger(s.topK) && s.topK >= 0, 'topK must be an integer >= 0', s.topK);
  check(Number.isFinite(s.repetitionPenalty) && s.repetitionPenalty > 0, 'repetitionPenalty must be a number > 0', s.repetitionPenalty);
  check(s.seed === null || (Number.isInteger(s.seed) && s.seed >= 0 && s.seed < 2 ** 32), 'seed must be an integer in [0, 2^32)', s.seed);
  return s;
}

/**
 * The sampling a model's generation_config.json asks for: `do_sample: false` decodes greedily;
 * otherwise its temperature, top_p and top_k. Its repetition_penalty holds either way. Unlike
 * Hugging Face, a config that does not mention do_sample still samples (the product's default).
 * Values generation could not honour are left out, so the product's defaults stand.
 */
export function samplingDefaults(generationConfig: unknown): Partial<GenerationSettings> {
  if (typeof generationConfig !== 'object' || generationConfig === null) return {};
  const g = generationConfig as Record<string, unknown>;
  const valid = (v: unknown, ok: (n: number) => boolean) => (typeof v === 'number' && ok(v) ? v : undefined);
  const repetitionPenalty = valid(g.repetition_penalty, (n) => n > 0);
  const sampling = g.do_sample === false ? { temperature: 0 } : {
    temperature: valid(g.temperature, (n) => n >= 0),
    topP: valid(g.top_p, (n) => n > 0 && n <= 1),
    topK: valid(g.top_k, (n) => Number.isInteger(n) && n >= 0),
  };
  return defined({ ...sampling, repetitionPenalty });
}

/** As the store records them: the seed actually used. */
export type SamplingRecord = SamplingSettings;
export type { GenerationTimings };

export type { Role };
export type StopReason = 'eos' | 'max-new-tokens' | 'stop-string' | 'cancelled';

/** One generated text with what training needs later. */
export interface GeneratedText {
  role: Role;
  /** 0 is the Leader's draft; follower rounds count from 1. */
  round: number;
  /** The extracted text: no chat markup, the original's outer whitespace. */
  text: string;
  /** The decoded completion, special tokens removed, before extraction. */
  rawText: string;
  /** The exact prompt the model was conditioned on: its parts, rendered text and token ids. */
  prompt: GenerationPrompt & { text: string; tokenIds: number[] };
  /** Generated tokens, the end-of-turn token included when the model produced one. */
  tokenIds: number[];
  /** log softmax(logits / T) of each generated token over the full vocabulary (T = 1 when greedy). */
  logprobs: number[];
  /** Log-prob under the distribution actually sampled from (after penalty, top-k, top-p); 0 when greedy. */
  samplingLogprobs: number[];
  logprobSum: number;
  modelId: string;
  adapterVersion: string | null;
  sampling: SamplingRecord;
  timings: GenerationTimings;
  stopReason: StopReason;
  /** The round returned the text it was given: the loop stops after it. */
  fixedPoint: boolean;
}
