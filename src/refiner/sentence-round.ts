// One Follower round generated sentence by sentence (see segment.ts), for models that only handle
// one sentence: the built-in model was trained on single sentences and garbles or truncates a
// paragraph given whole. The round's text is the refined sentences joined with the original gaps.
//
// What is recorded (docs/refiner.md): the round's prompt is the whole-text Follower prompt, rendered
// for the model, and its tokenIds and logprobs are empty, because no single generation produced the
// round's text from that prompt. Training therefore re-tokenizes the text and treats the round as
// off-policy (no behaviour log-probs, no importance weights). `sentences` keeps each generation.
import { resolve } from 'node:path';
import { defaultModelDir } from '../models/default-model';
import type { PromptParts, SamplingSettings } from '../base/generation-record';
import type { LoadedModel } from './host';
import { isGarbled, joinPieces, keepLineEnding, splitSentences } from './segment';
import type { GeneratedText } from './refiner-settings';
import { joinedRound } from './split-round';

/** Whether `modelId` (spec#hash, see prepareModel) is the built-in model's folder. */
export function isBuiltInModel(modelId: string): boolean {
  return isBuiltInSpec(modelId.slice(0, modelId.lastIndexOf('#')));
}

/** Whether a configured spec (a path or a hub id) names the built-in model. */
export function isBuiltInSpec(spec: string): boolean {
  try {
    return resolve(spec) === resolve(defaultModelDir());
  } catch {
    return false; // no built-in model in this installation
  }
}

/**
 * Whether a text needs refining sentence by sentence: it holds more than one sentence (or one too
 * long). A single sentence is generated whole, as for any model, so its round keeps its tokens and
 * behaviour log-probs (on-policy for training).
 */
export function needsSentences(text: string): boolean {
  return splitSentences(text).filter((p) => p.refine).length > 1;
}

/**
 * The garble guard on a round generated whole: a garbled text is replaced by its input and flagged;
 * the model did not produce that text, so the round keeps no tokens or log-probs (off-policy).
 */
export function guardWhole(result: GeneratedText, input: string): GeneratedText | SentenceRound {
  if (result.stopReason === 'cancelled' || !isGarbled(input, result.text)) return result;
  return { ...result, text: input, tokenIds: [], logprobs: [], samplingLogprobs: [], sentences: [result], garbled: [{ index: 0, input, output: result.text }] };
}

/** Refines one sentence: a generation whose prompt refines `sentence` (the caller's generateText). */
export type SentenceGenerate = (sentence: string, index: number, onChunk: (text: string) => void) => Promise<GeneratedText>;

export interface SentenceRound extends GeneratedText {
  /** The generations that made the round, one per sentence, in order. */
  sentences: GeneratedText[];
  /** Sentences whose output was garbled (isGarbled) and replaced by their input. */
  garbled: { index: number; input: string; output: string }[];
}

/**
 * Refines `text` sentence by sentence with `generate`, keeping the whitespace between sentences,
 * and replaces a garbled sentence by its input. Each sentence's final text arrives through
 * `onChunk` (after the guard, so the stream shows what the round will hold).
 */
export async function refineBySentence(loaded: LoadedModel, base: { round: number; prompt: PromptParts; sampling: SamplingSettings }, text: string, generate: SentenceGenerate, onChunk: (text: string) => void): Promise<SentenceRound> {
  const pieces = splitSentences(text);
  const sentences: GeneratedText[] = [];
  const garbled: SentenceRound['garbled'] = [];
  const started = { at: new Date().toISOString(), t0: performance.now() };
  let cancelled = false;
  const multiLine = text.trim().includes('\n');
  for (const [at, piece] of pieces.entries()) {
    if (piece.refine && !cancelled) {
      const index = sentences.length;
      const result = await generate(piece.text, index, () => undefined);
      sentences.push(result);
      const next = pieces[at + 1];
      const output = keepLineEnding(piece.text, result.text, multiLine && (!next || next.text.includes('\n')));
      if (result.stopReason === 'cancelled') cancelled = true;
      else if (isGarbled(piece.text, output)) garbled.push({ index, input: piece.text, output });
      else piece.text = output;
    }
    onChunk(piece.text);
  }
  return { ...joinedRound(loaded, base, joinPieces(pieces), sentences, cancelled, started), sentences, garbled };
}
