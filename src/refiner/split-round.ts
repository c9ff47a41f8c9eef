// One Follower round over a text too long for the model's budget (its context, or the memory the
// refiner may use: attention memory grows with the square of the prompt), refined in pieces:
// paragraphs, packed together while they fit, and a paragraph too long on its own by its sentences
// (Intl.Segmenter). Each piece is one generation whose prompt carries the text before it as context,
// as the editor gives a selection the text before it; the round's text is the refined pieces joined
// with the original text between them, so whitespace and line breaks are kept exactly. Only a text
// with a sentence that does not fit on its own is refused.
//
// What is recorded is what sentence-round.ts records (docs/refiner.md): the round's prompt is the
// whole-text Follower prompt and its tokenIds and log-probs are empty, because no single generation
// produced the round's text from that prompt (training treats it as off-policy); `pieces` keeps each
// piece's generation with the exact prompt the model saw.
import { promptMessages, renderPrompt, type ChatTokenizer } from '../models/prompts';
import type { PromptParts, SamplingSettings } from '../base/generation-record';
import type { LoadedModel } from './host';
import { promptTokenBudget, SPLIT_ABOVE_BYTES, unsplittableMessage } from './limits';
import { joinPieces, paragraphSpans, piecesFromSpans, sentenceSpans, type Span } from './segment';
import { RefinerInputError, type GeneratedText } from './refiner-settings';

/**
 * How much of the text before a piece its prompt carries as context: as much as the editor gives a
 * selection, less when that would take more than half of the model's budget (the context helps; the
 * piece is the work).
 */
export const PIECE_CONTEXT_CHARS = 400;

/** The prompt tokens of `parts` as generateText renders and encodes them. */
export function promptTokenCount(tokenizer: ChatTokenizer & { encode(text: string, options: object): number[] }, parts: PromptParts): number {
  const rendered = renderPrompt(tokenizer, promptMessages(parts));
  return tokenizer.encode(rendered.text, { add_special_tokens: rendered.addSpecialTokens }).length;
}

/** The prompt of the piece `span` of `text`: the round's prompt, refining the piece, after the text before it. */
export function piecePrompt(prompt: PromptParts, text: string, span: Span, contextChars: number): PromptParts {
  // The request's context is the text just before the whole text (the editor's), so the two run on.
  const before = prompt.context + text.slice(0, span.start);
  return { ...prompt, context: contextChars > 0 ? before.slice(-contextChars) : '', refined: text.slice(span.start, span.end) };
}

export interface PiecePlan {
  /** The pieces to refine, in order. */
  spans: Span[];
  /** The prompt tokens a piece aims at (SPLIT_ABOVE_BYTES); a sentence may take up to what the model allows. */
  budget: number;
  /** How many characters before each piece its prompt carries. */
  contextChars: number;
}

/**
 * Null when `prompt` (which refines `text` whole) fits the model's budget; else the pieces to refine.
 * Pieces are packed up to the preferred budget (at most SPLIT_ABOVE_BYTES of working memory); a
 * sentence over it but within what the model allows is a piece of its own. Throws
 * RefinerInputError when a sentence does not fit even alone.
 */
export function planPieces(loaded: LoadedModel, prompt: PromptParts, text: string, maxNewTokens: number, contextLimit?: number): PiecePlan | null {
  const limits = {
    dims: loaded.dims, contextLength: Math.min(loaded.contextLength, contextLimit ?? Infinity), maxNewTokens,
    limitBytes: loaded.memoryLimitBytes, residentBytes: loaded.residentAfterLoad,
  };
  const hard = promptTokenBudget(limits);
  const budget = promptTokenBudget({ ...limits, ceilingBytes: SPLIT_ABOVE_BYTES });
  if (promptTokenCount(loaded.tokenizer, prompt) <= budget) return null;
  const end = { start: text.length, end: text.length }; // an empty piece after the whole text: the prompt's overhead
  const overhead = (chars: number) => promptTokenCount(loaded.tokenizer, piecePrompt(prompt, text, end, chars));
  // Not even the instructions fit: no split can help, and generateText's refusal names the limit.
  if (overhead(0) >= budget) return null;
  const contextChars = [PIECE_CONTEXT_CHARS, PIECE_CONTEXT_CHARS / 4].find((chars) => overhead(chars) <= budget / 2) ?? 0;
  const tokens = (span: Span) => promptTokenCount(loaded.tokenizer, piecePrompt(prompt, text, span, contextChars));
  const fits = (span: Span) => tokens(span) <= budget;
  const spans: Span[] = [];
  // Greedy: each unit joins the piece before it while the two fit together (fewer, longer pieces keep more context per generation).
  let open: Span | null = null;
  const close = () => {
    if (open) spans.push(open);
    open = null;
  };
  const add = (unit: Span) => {
    const joined: Span | null = open && { start: open.start, end: unit.end };
    if (joined && fits(joined)) open = joined;
    else {
      close();
      open = unit;
    }
  };
  for (const paragraph of paragraphSpans(text)) {
    if (fits(paragraph)) {
      add(paragraph);
      continue;
    }
    close();
    for (const sentence of sentenceSpans(text, paragraph)) {
      if (fits(sentence)) {
        add(sentence);
        continue;
      }
      const need = tokens(sentence);
      if (need > hard) throw new RefinerInputError(unsplittableMessage('follower', text.slice(sentence.start, sentence.end), need, hard, maxNewTokens));
      close();
      spans.push(sentence); // over the preferred size, within what the model allows: alone
    }
    close(); // a paragraph split into sentences is not joined to the next one
  }
  close();
  return { spans, budget, contextChars };
}

/** Refines one piece: a generation of `prompt` (the caller's generateText) with the piece's seed. */
export type PieceGenerate = (prompt: PromptParts, piece: string, index: number, onChunk: (text: string) => void) => Promise<GeneratedText>;

export interface PieceRound extends GeneratedText {
  /** The generations that made the round, one per piece, in order, each with the prompt the model saw. */
  pieces: GeneratedText[];
}

/**
 * The record of a round made of several generations: the joined text under the whole-text prompt,
 * rendered for the model, with no tokens or log-probs of its own (no generation produced it whole).
 */
export function joinedRound(loaded: LoadedModel, base: { round: number; prompt: PromptParts; sampling: SamplingSettings }, text: string, parts: GeneratedText[], cancelled: boolean, started: { at: string; t0: number }): GeneratedText {
  const rendered = renderPrompt(loaded.tokenizer, promptMessages(base.prompt));
  const sum = (f: (g: GeneratedText) => number) => parts.reduce((a, g) => a + f(g), 0);
  return {
    role: 'follower',
    round: base.round,
    text,
    rawText: text,
    prompt: { ...base.prompt, text: rendered.text, tokenIds: loaded.tokenizer.encode(rendered.text, { add_special_tokens: rendered.addSpecialTokens }) },
    tokenIds: [],
    logprobs: [],
    samplingLogprobs: [],
    logprobSum: sum((g) => g.logprobSum),
    modelId: loaded.source.modelId,
    adapterVersion: loaded.source.adapterVersion,
    // The round's seed: part i was generated with roundSeed(seed, i) (loop.ts).
    sampling: base.sampling,
    timings: { startedAt: started.at, totalMs: performance.now() - started.t0, tokens: sum((g) => g.tokenIds.length) },
    stopReason: cancelled ? 'cancelled' : parts.find((g) => g.stopReason === 'max-new-tokens')?.stopReason ?? 'eos',
    fixedPoint: false,
  };
}

/**
 * Refines `text` piece by piece (`plan` from planPieces). Each piece streams as it is generated,
 * and the text between pieces as it is reached, so the chunks join to the round's text. After a
 * cancel the remaining pieces keep their text.
 */
export async function refineInPieces(loaded: LoadedModel, base: { round: number; prompt: PromptParts; sampling: SamplingSettings }, text: string, plan: PiecePlan, generate: PieceGenerate, onChunk: (text: string) => void): Promise<PieceRound> {
  const started = { at: new Date().toISOString(), t0: performance.now() };
  const pieces = piecesFromSpans(text, plan.spans);
  const generations: GeneratedText[] = [];
  let cancelled = false;
  for (const piece of pieces) {
    if (!piece.refine || cancelled) {
      if (!cancelled) onChunk(piece.text);
      continue;
    }
    const span = plan.spans[generations.length];
    const result = await generate(piecePrompt(base.prompt, text, span, plan.contextChars), piece.text, generations.length, onChunk);
    generations.push(result);
    if (result.stopReason === 'cancelled') cancelled = true;
    else piece.text = result.text;
  }
  return { ...joinedRound(loaded, base, joinPieces(pieces), generations, cancelled, started), pieces: generations };
}
