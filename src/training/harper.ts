// Harper as a judge of refinements (the linter itself lives in src/models/harper.ts).
import type { Harper } from '../models/harper';
import type { Judge } from './online';
import { keptWords, splitWords } from './word-edits';

/** How much changing an unlinted word counts against a text, in lints. */
export const UNPROMPTED_CHANGE_PENALTY = 1;

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * p = P(y > y') for a refinement y' of y: each text is charged one per Harper lint, and y' also
 * UNPROMPTED_CHANGE_PENALTY per word of y it changed that no lint of y touched (changing what was
 * not wrong); p = sigmoid(charge(y') - charge(y)). A typo fixed beats the typo; a correct word
 * changed into another correct word loses.
 */
export async function harperPreference(harper: Harper, y: string, yPrime: string, penalty = UNPROMPTED_CHANGE_PENALTY): Promise<number> {
  const [lintsY, lintsYPrime] = await Promise.all([harper.lint(y), harper.lint(yPrime)]);
  const words = splitWords(y);
  const kept = keptWords(words.map((w) => w.text), splitWords(yPrime).map((w) => w.text));
  const flagged = (w: { start: number; end: number }) => lintsY.some((l) => l.start < w.end && w.start < l.end);
  const unprompted = words.filter((w, i) => !kept[i] && !flagged(w)).length;
  return sigmoid(lintsYPrime.length + penalty * unprompted - lintsY.length);
}

/** harperPreference as an online-training Judge: it compares texts, so it needs the tokenizer's decode. */
export function harperJudge(harper: Harper, decode: (ids: number[]) => string): Judge {
  return { name: 'harper', prefer: ({ leader, follower }) => harperPreference(harper, decode(leader), decode(follower)) };
}
