// Harper (harper.js, Apache-2.0: a local grammar checker, Rust compiled to WebAssembly) as a judge
// of refinements and as the baseline refiner the benchmarks compare with. ESM only, loaded on first
// use with a dynamic import, so nothing pays for its 16 MB of wasm until it is asked for.
import type { Judge } from './online';
import { keptWords, splitWords } from './word-edits';

export interface HarperLint {
  start: number;
  end: number;
  kind: string;
  message: string;
  /** The first suggested replacement; null when Harper suggests none (or only a removal it cannot name). */
  replacement: string | null;
}

export interface Harper {
  lint(text: string): Promise<HarperLint[]>;
  /** The text with the first suggestion of every lint applied (overlapping lints: the earlier one wins). */
  fixFirst(text: string): Promise<string>;
}

let loading: Promise<Harper> | undefined;

/** Harper's English linter, set up once per process (setup takes seconds: it loads the dictionary). */
export function loadHarper(): Promise<Harper> {
  loading ??= (async () => {
    const { LocalLinter } = await import('harper.js');
    const { binaryInlined } = await import('harper.js/binaryInlined');
    const linter = new LocalLinter({ binary: binaryInlined });
    await linter.setup();
    return {
      async lint(text) {
        return (await linter.lint(text)).map((l) => ({
          start: l.span().start, end: l.span().end, kind: l.lint_kind(), message: l.message(),
          replacement: l.suggestions()[0]?.get_replacement_text() ?? null,
        }));
      },
      async fixFirst(text) {
        // Last to first, so applying one suggestion leaves the earlier lints' offsets valid.
        const lints = (await linter.lint(text)).filter((l) => l.suggestions().length > 0).sort((a, b) => b.span().start - a.span().start);
        let out = text;
        let limit = Infinity;
        for (const lint of lints) {
          if (lint.span().end > limit) continue;
          out = await linter.applySuggestion(out, lint, lint.suggestions()[0]);
          limit = lint.span().start;
        }
        return out;
      },
    };
  })();
  return loading;
}

/**
 * Lints of `output` that `input` did not have (same kind over the same text counts as had): what a
 * refinement broke, for a guard that flags such a round before Accept.
 */
export async function newLints(harper: Harper, input: string, output: string): Promise<HarperLint[]> {
  const key = (text: string, l: HarperLint) => `${l.kind}\u0000${text.slice(l.start, l.end)}`;
  const had = new Map<string, number>();
  for (const l of await harper.lint(input)) had.set(key(input, l), (had.get(key(input, l)) ?? 0) + 1);
  return (await harper.lint(output)).filter((l) => {
    const n = had.get(key(output, l)) ?? 0;
    if (n > 0) had.set(key(output, l), n - 1);
    return n === 0;
  });
}

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
