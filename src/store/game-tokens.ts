// Game samples -> the trainer's token ids, for the model being trained. The CLI and the panel both
// call this (the trainer takes the result as its samples: the shape matches src/training's Sample).
//
// A prompt is rendered from its messages with the training model's template. When that reproduces
// the text recorded at generation time, the recorded token ids are used, and so are the recorded
// completion ids and behaviour log-probs: they refer to exactly this context. When it does not (a
// model of another family trains on these decisions), the completion is retokenized and has no
// behaviour log-probs. Migrated records recorded no prompt text; their completion ids are trusted.
import { createHash } from 'node:crypto';
import { renderPrompt } from '../models/prompts';
import type { TextTokenizer } from '../models/tokenizer';
import type { Role } from '../base/generation-record';
import { gameSamples, type GamePrompt, type GameSample } from './game';
import type { StoreRecord } from './schema';

export interface TokenizeOptions {
  /** Appended to a retokenized completion, as a model ends its answer. */
  endOfTurn: number;
  /** Whether the reference scores a Follower completion under the Follower's prompt or under x alone. */
  followerReference: 'standard' | 'leader-free';
  /** Keep Leader samples (the Leader trains, sharing the adapter). */
  leader: boolean;
}

export interface TrainingSample {
  role: Role;
  record: string;
  transition: string;
  prompt: number[];
  completion: number[];
  score: number;
  /** Behaviour log-probs of `completion`, or null (text no model sampled, or another tokenizer's). */
  behaviour: number[] | null;
  referencePrompt: number[];
  /** The Leader's prompt x of the sample's context (online training samples fresh drafts for it). */
  context: number[];
  temperature?: number;
  /** Samples of one role with the identical prompt share a group (the RLOO baseline's unit). */
  group: string;
  /** For people (`slhf train --dry-run`, the panel): the prompt as rendered for the model, and the completion's text. */
  promptText: string;
  completionText: string;
}

/** The prompt's ids for this tokenizer; `asRecorded` says whether it renders as recorded (null: nothing recorded). */
function promptIds(prompt: GamePrompt, tokenizer: TextTokenizer): { text: string; ids: number[]; asRecorded: boolean | null } {
  const rendered = renderPrompt(tokenizer, prompt.messages);
  const encoded = () => tokenizer.encode(rendered.text, { add_special_tokens: rendered.addSpecialTokens });
  if (prompt.text === undefined) return { text: rendered.text, ids: encoded(), asRecorded: null };
  const same = prompt.text === rendered.text;
  return { text: rendered.text, ids: same && prompt.tokenIds ? prompt.tokenIds : encoded(), asRecorded: same };
}

const groupOf = (role: Role, ids: number[]) => `${role}:${createHash('sha1').update(Int32Array.from(ids)).digest('hex').slice(0, 16)}`;

export function tokenizeGameSamples(samples: GameSample[], tokenizer: TextTokenizer, options: TokenizeOptions): TrainingSample[] {
  return samples.filter((s) => options.leader || s.role === 'follower').map((s) => {
    const prompt = promptIds(s.prompt, tokenizer);
    const c = s.completion;
    // null: a migrated prompt, whose generating tokenizer is unknown: its recorded ids are kept.
    const own = c.tokenIds !== undefined && c.tokenIds.length > 0 && prompt.asRecorded !== false;
    const completion = own ? c.tokenIds! : [...tokenizer.encode(c.text, { add_special_tokens: false }), options.endOfTurn];
    const behaviour = own && c.logprobs && c.logprobs.length === completion.length ? c.logprobs : null;
    const context = s.role === 'leader' ? prompt.ids : promptIds({ messages: s.context }, tokenizer).ids;
    return {
      role: s.role, record: s.record, transition: s.transition, prompt: prompt.ids, completion, score: s.score, behaviour,
      referencePrompt: options.followerReference === 'leader-free' ? context : prompt.ids, context,
      ...(s.temperature !== undefined ? { temperature: s.temperature } : {}),
      group: groupOf(s.role, prompt.ids), promptText: prompt.text, completionText: c.text,
    };
  });
}

/** The training samples of some records (one session for the panel's "what this decision teaches"). */
export function trainingSamples(records: StoreRecord[], tokenizer: TextTokenizer, options: TokenizeOptions): TrainingSample[] {
  return tokenizeGameSamples(records.flatMap(gameSamples), tokenizer, options);
}

/** One sample as `slhf train --dry-run --json` prints it and the panel shows it. */
export interface SampleSummary {
  role: Role;
  record: string;
  prompt: string;
  completion: string;
  score: number;
  behaviour: boolean;
  /** sampleTokens: what a training step runs for it. */
  tokens: number;
}

/** The longest sequence training runs for a sample: its prompt (or its reference's, if longer) and completion. */
export const sampleTokens = (s: TrainingSample): number => Math.max(s.prompt.length, s.referencePrompt.length) + s.completion.length;

export const sampleSummary = (s: TrainingSample): SampleSummary => ({
  role: s.role, record: s.record, prompt: s.promptText, completion: s.completionText, score: s.score, behaviour: s.behaviour !== null,
  tokens: sampleTokens(s),
});
