// The built-in model's first pass (issue 21): Harper (src/models/harper.ts), a local grammar
// checker, fixes what it is sure of before the built-in model's rounds, and its fixes are a round of
// their own, round 1, so the review shows what Harper changed apart from what the model changed.
// Only the built-in model gets it (RefineRequest.harperFirstPass, the setting
// slhf.refine.harperFirstPass, default on); a real model refines the text as written.
//
// What is recorded: the round's prompt is the Follower prompt for the text it fixed, rendered for
// the model, as for any round; its modelId says Harper made it; its tokenIds and log-probs are
// empty. No model sampled the text, so training re-tokenizes it and treats the round as off-policy
// (no behaviour log-probs, no importance weights), as it treats the user's own edits.
import { loadHarper, newLints, type Harper, type HarperLint } from '../models/harper';
import { promptMessages, renderPrompt } from '../models/prompts';
import type { PromptParts } from '../base/generation-record';
import type { ModelHost } from './host';
import { joinPieces, splitSentences } from './segment';
import { isBuiltInSpec } from './sentence-round';
import { resolveSettings, type GeneratedText, type GenerationSettings } from './refiner-settings';

/** The round's modelId: what made its text. */
export const HARPER_MODEL_ID = 'harper.js 2.10 (first pass)';

/** Lint kinds the pass leaves alone: style advice rather than errors ("and also" -> "and"). */
const STYLE_KINDS = new Set(['Style', 'Enhancement', 'Readability', 'Redundancy', 'Regionalism']);

/** Harper is re-run on its own output this many times at most ("She dont" -> "She don't" -> "She doesn't"). */
const MAX_PASSES = 3;

/**
 * The replacement the pass makes for a lint, or null to leave it. Among a lint's suggestions the one
 * that changes only the letters' case wins: Harper lists "par's" before "Paris" for "paris" and
 * "jury" before "July" for "july", and a word its dictionary knows with a capital was written in
 * lower case far more often than misspelled. Otherwise Harper's first suggestion.
 */
export function chooseReplacement(lint: HarperLint, flagged: string): string | null {
  if (STYLE_KINDS.has(lint.kind) || lint.suggestions.length === 0) return null;
  const caseOnly = lint.suggestions.find((s) => s.kind === 'replace' && s.text !== flagged && s.text.toLowerCase() === flagged.toLowerCase());
  const s = caseOnly ?? lint.suggestions[0];
  if (s.kind === 'remove') return '';
  return s.kind === 'insert-after' ? flagged + s.text : s.text;
}

/** One pass: every lint's chosen replacement, last to first; of overlapping lints the later one wins. */
async function fixOnce(harper: Harper, text: string): Promise<string> {
  // Harper's spans count characters (code points), not UTF-16 units.
  const chars = Array.from(text);
  const lints = (await harper.lint(text)).sort((a, b) => b.start - a.start);
  let limit = Infinity;
  for (const lint of lints) {
    if (lint.end > limit) continue;
    const replacement = chooseReplacement(lint, chars.slice(lint.start, lint.end).join(''));
    if (replacement === null) continue;
    chars.splice(lint.start, lint.end - lint.start, ...Array.from(replacement));
    limit = lint.start;
  }
  return chars.join('');
}

/** `text` with Harper's fixes applied until it has no more (at most MAX_PASSES passes). */
export async function harperFix(harper: Harper, text: string): Promise<string> {
  let out = text;
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const next = await fixOnce(harper, out);
    if (next === out) break;
    out = next;
  }
  return out;
}

export interface FirstPassRequest {
  round: number;
  /** The Follower prompt for `text` (the round records it). */
  prompt: PromptParts;
  settings?: Partial<GenerationSettings>;
  seed: number;
}

const wordsOf = (text: string) => text.toLowerCase().split(/\s+/).filter(Boolean);

/**
 * The model's output has fewer words than its input and the input has no word written twice in a
 * row ("the the"), the one deletion the model is trained to make: it dropped a word ("Over several
 * weeks we" -> "Over several we"), which Harper does not notice.
 */
export function droppedWord(input: string, output: string): boolean {
  const before = wordsOf(input);
  if (wordsOf(output).length >= before.length) return false;
  const bare = before.map((w) => w.replace(/[^a-z0-9']/g, ''));
  return !bare.some((w, i) => i > 0 && w !== '' && w === bare[i - 1]);
}

/**
 * The model wrote a word inside the sentence with a capital that its input had in lower case ("going to
 * discuss" -> "going to Discuss"). Names of days, months and places in lower case are the first
 * pass's to fix (Harper's dictionary knows them), and the model capitalizes ordinary words too; "i" ->
 * "I" is allowed.
 */
export function newCapital(input: string, output: string): boolean {
  const before = input.split(/\s+/).filter(Boolean);
  const after = output.split(/\s+/).filter(Boolean);
  if (before.length !== after.length) return false;
  return after.some((w, i) => i > 0 && w !== before[i] && w.toLowerCase() === before[i].toLowerCase() && /^[A-Z]/.test(w) && /^[a-z]/.test(before[i]) && !/^i\b/.test(before[i]));
}

/** A model round some of whose sentences the lint guard put back as they were. */
export interface LintGuardedRound extends GeneratedText {
  /** Sentences kept as written: their output had Harper lints the input did not have ('dropped word' when it lost a word). */
  linted: { index: number; input: string; output: string; lints: string[] }[];
}

/**
 * The lint guard on a model round of the built-in refiner: a sentence the model changed is put back as
 * it was when Harper finds a lint in the new sentence that the old one did not have (newLints: a new
 * misspelling such as "umbrella" -> "umberlla", "it's tail" where "its tail" was), when the model
 * dropped a word (droppedWord), or when it capitalized a word inside the sentence (newCapital). Sentences are matched by position when both texts split into the same pieces; otherwise
 * the whole text is checked. A round the guard changed records no tokens or log-probs (off-policy),
 * since the model did not produce its text.
 */
export async function guardByLints(harper: Harper, input: string, result: GeneratedText): Promise<GeneratedText | LintGuardedRound> {
  if (result.stopReason === 'cancelled' || result.text === input) return result;
  const before = splitSentences(input);
  const after = splitSentences(result.text);
  const aligned = before.length === after.length && before.every((p, i) => p.refine === after[i].refine);
  const pairs = aligned ? after.map((p, i) => ({ old: before[i].text, piece: p })) : [{ old: input, piece: { text: result.text, refine: true } }];
  const linted: LintGuardedRound['linted'] = [];
  for (const [index, { old, piece }] of pairs.entries()) {
    if (!piece.refine || piece.text === old) continue;
    const lints = (await newLints(harper, old, piece.text)).map((l) => l.kind);
    if (droppedWord(old, piece.text)) lints.push('dropped word');
    if (newCapital(old, piece.text)) lints.push('capital inside a sentence');
    if (lints.length === 0) continue;
    linted.push({ index, input: old, output: piece.text, lints });
    piece.text = old;
  }
  if (linted.length === 0) return result;
  return { ...result, text: joinPieces(pairs.map((p) => p.piece)), tokenIds: [], logprobs: [], samplingLogprobs: [], linted };
}

/** The pass for one request: its round (null when Harper changed nothing) and the guard on the model's rounds after it. */
export interface FirstPass {
  round: GeneratedText | null;
  guard(input: string, result: GeneratedText): Promise<GeneratedText>;
}

/**
 * The first pass, or null when it does not apply (the Follower is not the built-in model). Its round
 * is null when Harper changes nothing (a round that returns its input would end the loop).
 */
export async function harperFirstRound(host: ModelHost, request: FirstPassRequest, text: string, loadLinter: () => Promise<Harper> = loadHarper): Promise<FirstPass | null> {
  // Decided from the configured spec, so that another model is not loaded (or exported, for minutes)
  // here, before the loop has said which round it is working on.
  const spec = host.specOf('follower');
  if (spec === undefined || !isBuiltInSpec(spec)) return null;
  // Harper's setup (seconds: it loads its dictionary) starts now, while the model loads, rather than
  // after it: the first refinement waited for both in turn. Awaited below; the catch only keeps a
  // failure from going unhandled when the model's load fails first.
  const linting = loadLinter();
  linting.catch(() => undefined);
  return host.use('follower', async (loaded) => {
    const linter = await linting;
    const guard = (input: string, result: GeneratedText) => guardByLints(linter, input, result);
    const t0 = performance.now();
    const startedAt = new Date().toISOString();
    const fixed = await harperFix(linter, text);
    if (fixed === text) return { round: null, guard };
    const rendered = renderPrompt(loaded.tokenizer, promptMessages(request.prompt));
    const round: GeneratedText = {
      role: 'follower', round: request.round, text: fixed, rawText: fixed,
      prompt: { ...request.prompt, text: rendered.text, tokenIds: loaded.tokenizer.encode(rendered.text, { add_special_tokens: rendered.addSpecialTokens }) },
      tokenIds: [], logprobs: [], samplingLogprobs: [], logprobSum: 0,
      modelId: HARPER_MODEL_ID, adapterVersion: null,
      sampling: { ...resolveSettings(request.settings, loaded.samplingDefaults), seed: request.seed },
      timings: { startedAt, totalMs: performance.now() - t0, tokens: 0 },
      stopReason: 'eos', fixedPoint: false,
    };
    return { round, guard };
  });
}
