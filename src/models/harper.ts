// Harper (harper.js, Apache-2.0: a local grammar checker, Rust compiled to WebAssembly): the linter
// itself, here below the refiner and training so that both can use it (a review guard, a first pass,
// a judge, the baseline the benchmarks compare with). ESM only, loaded on first use with a dynamic
// import, so nothing pays for its 16 MB of wasm until it is asked for.

export interface HarperLint {
  start: number;
  end: number;
  kind: string;
  message: string;
  /** The first suggested replacement; null when Harper suggests none (or only a removal it cannot name). */
  replacement: string | null;
  /** Every suggestion, in Harper's order: replace the span with `text`, remove it, or insert `text` after it. */
  suggestions: HarperSuggestion[];
}

export interface HarperSuggestion {
  kind: 'replace' | 'remove' | 'insert-after';
  text: string;
}

const SUGGESTION_KINDS = ['replace', 'remove', 'insert-after'] as const;

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
          suggestions: l.suggestions().map((x) => ({ kind: SUGGESTION_KINDS[x.kind()] ?? 'replace', text: x.get_replacement_text() })),
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
