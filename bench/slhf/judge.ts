// The simulated judge of `npm run bench:slhf`: three annotators who compare two texts meant to be
// the same sentence. Each prefers the text closer to the clean sentence (fewer character edits: a
// transitive part, the typos) and, at equal distance, the better of three endings by its own
// ranking. The rankings are cyclic (A>B>C, B>C>A, C>A>B), so 2 of 3 prefer A over B, B over C and
// C over A: a Condorcet cycle that no scalar reward of a text can represent.
// p = P(y > y') = the share of annotators preferring y (a tie counts half).
import { editDistance } from '../../src/training/word-edits';

/**
 * The three endings A, B, C: one token each for the built-in model's tokenizer, so the choice is one
 * token ('...' would share its first token with '.').
 */
export const ENDINGS = ['.', '!', '?'] as const;

/** Each annotator's ranking of the endings (indices into ENDINGS), best first. */
export const RANKINGS: readonly (readonly number[])[] = [[0, 1, 2], [1, 2, 0], [2, 0, 1]];

/** A text split into its body and its ending (an index into ENDINGS, or -1 for any other end). */
export function splitEnding(text: string): { body: string; ending: number } {
  const t = text.trim();
  for (let e = 0; e < ENDINGS.length; e++) if (t.endsWith(ENDINGS[e])) return { body: t.slice(0, -ENDINGS[e].length), ending: e };
  return { body: t, ending: -1 };
}

/** What an annotator sees of a text: its distance from the clean sentence and its ending. */
export interface Judged {
  errors: number;
  ending: number;
}

export function judged(text: string, clean: string): Judged {
  const { body, ending } = splitEnding(text);
  return { errors: editDistance(body, clean), ending };
}

/** Rank of an ending for an annotator: 0 best; any other ending ranks below all three. */
const rank = (annotator: number, ending: number) => (ending < 0 ? 3 : RANKINGS[annotator].indexOf(ending));

/** 1 if the annotator prefers a, 0 if b, 0.5 on a tie. `transitiveOnly` ignores the endings. */
export function annotatorPrefers(annotator: number, a: Judged, b: Judged, transitiveOnly = false): number {
  if (a.errors !== b.errors) return a.errors < b.errors ? 1 : 0;
  if (transitiveOnly) return 0.5;
  const ra = rank(annotator, a.ending);
  const rb = rank(annotator, b.ending);
  return ra === rb ? 0.5 : ra < rb ? 1 : 0;
}

/**
 * p = P(y > y' | clean sentence): the share of the annotators preferring y. With `transitiveOnly`,
 * only the typo part (the distance) counts: the judge of "the transitive part".
 */
export function preference(y: string, yPrime: string, clean: string, transitiveOnly = false): number {
  const a = judged(y, clean);
  const b = judged(yPrime, clean);
  let sum = 0;
  for (let k = 0; k < RANKINGS.length; k++) sum += annotatorPrefers(k, a, b, transitiveOnly);
  return sum / RANKINGS.length;
}

/** The ending that beats ending e for the most annotators (2 of 3): C beats A, A beats B, B beats C. */
export function bestResponse(e: number): number {
  let best = e;
  let bestScore = -1;
  for (let r = 0; r < ENDINGS.length; r++) {
    const score = 1 - preference(`x${ENDINGS[e]}`, `x${ENDINGS[r]}`, 'x');
    if (score > bestScore) [best, bestScore] = [r, score];
  }
  return best;
}
