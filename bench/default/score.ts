// Word-by-word scoring of a refiner's outputs against the intended texts (`npm run bench:default`).
// A word is a run of non-space characters, case and punctuation included (src/training/word-edits).
import { splitWords, editDistance } from '../../src/training/word-edits';
import type { BenchText } from './set';

export interface TextScore {
  id: string;
  output: string;
  clean: boolean;
  /** The output is the intended text (outer whitespace aside). */
  exact: boolean;
  /** Word edits from the input, and from the output, to the intended text. */
  inputErrors: number;
  outputErrors: number;
  /** A text of several sentences that came back with under 90% of its intended words. */
  truncated: boolean;
  multiSentence: boolean;
}

const words = (s: string) => splitWords(s).map((w) => w.text);
const sentenceCount = (s: string) => (s.match(/[.!?](\s|$)/g) ?? []).length;

export function scoreText(item: BenchText, output: string): TextScore {
  const target = words(item.target);
  const multiSentence = sentenceCount(item.target) > 1;
  return {
    id: item.id, output, clean: item.input === item.target, exact: output.trim() === item.target.trim(),
    inputErrors: editDistance(words(item.input), target), outputErrors: editDistance(words(output), target),
    truncated: multiSentence && words(output).length < 0.9 * target.length, multiSentence,
  };
}

export interface Summary {
  corrupted: number;
  exactFixes: number;
  /** 1 - (word errors left) / (word errors in the inputs), over the corrupted texts; negative when it added errors. */
  errorReduction: number;
  clean: number;
  cleanChanged: number;
  multiSentence: number;
  truncated: number;
}

export function summarize(scores: readonly TextScore[]): Summary {
  const corrupted = scores.filter((s) => !s.clean);
  const clean = scores.filter((s) => s.clean);
  const sum = (xs: TextScore[], f: (s: TextScore) => number) => xs.reduce((a, s) => a + f(s), 0);
  return {
    corrupted: corrupted.length,
    exactFixes: corrupted.filter((s) => s.exact).length,
    errorReduction: 1 - sum(corrupted, (s) => s.outputErrors) / Math.max(1, sum(corrupted, (s) => s.inputErrors)),
    clean: clean.length,
    cleanChanged: clean.filter((s) => !s.exact).length,
    multiSentence: scores.filter((s) => s.multiSentence).length,
    truncated: scores.filter((s) => s.truncated).length,
  };
}
