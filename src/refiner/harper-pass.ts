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
import { loadHarper, type Harper, type HarperLint } from '../models/harper';
import { promptMessages, renderPrompt } from '../models/prompts';
import type { PromptParts } from '../models/generation-record';
import type { ModelHost } from './host';
import { isBuiltInModel } from './sentence-round';
import { resolveSettings, type GeneratedText, type GenerationSettings } from './settings';

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

/**
 * The first pass as a round, or null when it does not apply: the Follower is not the built-in
 * model, or Harper changes nothing (a round that returns its input would end the loop).
 */
export async function harperFirstRound(host: ModelHost, request: FirstPassRequest, text: string, harper?: Harper): Promise<GeneratedText | null> {
  return host.use('follower', async (loaded) => {
    if (!isBuiltInModel(loaded.source.modelId)) return null;
    const t0 = performance.now();
    const startedAt = new Date().toISOString();
    const fixed = await harperFix(harper ?? (await loadHarper()), text);
    if (fixed === text) return null;
    const rendered = renderPrompt(loaded.tokenizer, promptMessages(request.prompt));
    return {
      role: 'follower', round: request.round, text: fixed, rawText: fixed,
      prompt: { ...request.prompt, text: rendered.text, tokenIds: loaded.tokenizer.encode(rendered.text, { add_special_tokens: rendered.addSpecialTokens }) },
      tokenIds: [], logprobs: [], samplingLogprobs: [], logprobSum: 0,
      modelId: HARPER_MODEL_ID, adapterVersion: null,
      sampling: { ...resolveSettings(request.settings, loaded.samplingDefaults), seed: request.seed },
      timings: { startedAt, totalMs: performance.now() - t0, tokens: 0 },
      stopReason: 'eos', fixedPoint: false,
    };
  });
}
