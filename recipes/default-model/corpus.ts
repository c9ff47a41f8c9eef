// The default refiner's source text: short, clean English sentences from the fortune cookie files
// of Debian's `fortunes-min` package (fortune-mod's data, BSD licence; see the model card). The
// text is read from the installed package at run time and never committed.
//
//   node --import tsx recipes/default-model/corpus.ts     prints the corpus size and a few samples
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { splitPairs } from '../../src/training/data';

/** Debian installs the cookie files here; FORTUNE_DIR overrides it (other distributions). */
export const DEFAULT_FORTUNE_DIR = '/usr/share/games/fortunes';
/** The files of `fortunes-min`: all under fortune-mod's BSD licence. */
export const FORTUNE_FILES = ['fortunes', 'literature', 'riddles'] as const;

export interface Corpus {
  train: string[];
  heldOut: string[];
  /** Where the text came from, for the model card. */
  source: { package: string; files: string[] };
}

export class CorpusMissingError extends Error {
  override name = 'CorpusMissingError';
}

const MIN_CHARS = 20;
const MAX_CHARS = 120;
// Cookies are joined from hard-wrapped lines; two spaces after a full stop is the files' style
// but a "stray space" to the refiner, so whitespace is collapsed.
const collapse = (text: string) => text.replace(/\s+/g, ' ').trim();
const sentencesOf = (text: string) => text.split(/(?<=[.!?])\s+(?=[A-Z"])/);
// Plain prose only: letters, digits and ordinary punctuation, no shouting, no abbreviations whose
// full stop would be taken for a sentence end.
const PLAIN = /^[A-Z][A-Za-z0-9 ,.;:!?'"()-]*[.!?]"?$/;
const SHOUTING = /\b[A-Z]{3,}\b|[!?]{2,}/;
const ABBREVIATION = /\b(Mr|Mrs|Ms|Dr|St|Jr|Sr|vs|etc|Inc|Co|e\.g|i\.e|[A-Z])\./;

/** Whether a unit of text is a short, clean English sentence (or two) to train on. */
export function isCleanSentence(text: string): boolean {
  if (text.length < MIN_CHARS || text.length > MAX_CHARS) return false;
  if (!PLAIN.test(text) || SHOUTING.test(text) || ABBREVIATION.test(text) || / {2}/.test(text)) return false;
  return sentencesOf(text).length <= 2;
}

/**
 * Candidate units of one cookie: attribution lines ("-- Mark Twain") dropped; riddle lines
 * ("Q:\t...") one unit each; dialogue and verse (indented lines) skipped; otherwise the whole
 * cookie when it is one or two sentences, else each of its sentences.
 */
export function cookieUnits(cookie: string): string[] {
  const lines = cookie.split('\n').filter((l) => l.trim() !== '' && !/^\s*--/.test(l));
  if (lines.length === 0) return [];
  if (lines.some((l) => /^[QA]:\s/.test(l))) return lines.filter((l) => /^[QA]:\s/.test(l)).map((l) => collapse(l.slice(2)));
  if (lines.some((l) => /^\s/.test(l))) return [];
  const text = collapse(lines.join(' '));
  const sentences = sentencesOf(text);
  return sentences.length <= 2 ? [text] : sentences;
}

/** Clean sentences of a fortune file's text (cookies separated by lines holding only '%'), in order. */
export function extractSentences(fileText: string): string[] {
  return fileText.split(/^%$/m).flatMap(cookieUnits).filter(isCleanSentence);
}

/**
 * Reads the installed fortune files, dedupes the sentences and splits them deterministically by
 * sentence (stable when the package changes) into train and held-out sets.
 */
export function loadCorpus(options: { dir?: string; heldOutFraction?: number; seed?: number } = {}): Corpus {
  const dir = options.dir ?? process.env.FORTUNE_DIR ?? DEFAULT_FORTUNE_DIR;
  const files = FORTUNE_FILES.map((f) => join(dir, f));
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length > 0) {
    throw new CorpusMissingError(
      `default-model corpus: the fortune files are missing (${missing.join(', ')}). ` +
        'Install them with `sudo apt-get install fortunes-min` (Debian/Ubuntu), or point FORTUNE_DIR at a folder holding the files fortunes, literature and riddles.',
    );
  }
  const sentences = [...new Set(files.flatMap((f) => extractSentences(readFileSync(f, 'latin1'))))];
  const { train, heldOut } = splitPairs(sentences.map((id) => ({ id })), options.heldOutFraction ?? 0.1, options.seed ?? 0);
  return { train: train.map((s) => s.id), heldOut: heldOut.map((s) => s.id), source: { package: 'fortunes-min', files: [...FORTUNE_FILES] } };
}

if (process.argv[1] && /corpus\.ts$/.test(process.argv[1])) {
  try {
    const corpus = loadCorpus();
    console.log(`train ${corpus.train.length} sentences, held-out ${corpus.heldOut.length} (from ${corpus.source.package}: ${corpus.source.files.join(', ')})`);
    for (const s of corpus.train.slice(0, 5)) console.log(`  ${s}`);
  } catch (err) {
    console.error((err as Error).message);
    process.exitCode = 1;
  }
}
