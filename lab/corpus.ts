// The default refiner's source text: short, clean English sentences from the fortune cookie files
// of Debian's `fortunes-min` and `fortunes` packages (fortune-mod's data, BSD licence; see the
// model card). The text is read from the installed packages at run time and never committed.
//
//   node --import tsx lab/corpus.ts     prints the corpus size and a few samples
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { splitPairs } from '../src/training/data';

/** Debian installs the cookie files here; FORTUNE_DIR overrides it (other distributions). */
export const DEFAULT_FORTUNE_DIR = '/usr/share/games/fortunes';
/** A set of cookie files and the Debian package that installs them (all under fortune-mod's BSD licence). */
export interface FortuneSource {
  package: string;
  files: readonly string[];
}

/** The three files of `fortunes-min`, about 830 sentences: the warm start's first phases. */
export const MIN_FORTUNES: FortuneSource = { package: 'fortunes-min', files: ['fortunes', 'literature', 'riddles'] };

/**
 * Those and the cookie files of `fortunes` (which depends on fortunes-min), about 10,000 sentences.
 * Left out: files with next to no plain prose (ascii-art, paradoxum, translate-me, pratchett), and
 * jokes about groups of people (ethnic, men-women), which a spelling fixer has no need to read.
 */
export const ALL_FORTUNES: FortuneSource = {
  package: 'fortunes',
  files: [
    ...MIN_FORTUNES.files, 'art', 'computers', 'cookie', 'debian', 'definitions', 'disclaimer', 'drugs', 'education', 'food',
    'goedel', 'humorists', 'kids', 'knghtbrd', 'law', 'linux', 'linuxcookie', 'love', 'magic', 'medicine', 'miscellaneous',
    'news', 'people', 'perl', 'pets', 'platitudes', 'politics', 'science', 'songs-poems', 'sports', 'startrek', 'tao',
    'wisdom', 'work', 'zippy',
  ],
};

export interface Corpus {
  train: string[];
  heldOut: string[];
  /** Where the text came from, for the model card. */
  source: FortuneSource;
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
 * sentence into train and held-out sets. The split depends on nothing but the sentence, so a
 * sentence held out of MIN_FORTUNES is held out of ALL_FORTUNES too.
 */
export function loadCorpus(options: { source?: FortuneSource; dir?: string; heldOutFraction?: number; seed?: number } = {}): Corpus {
  const source = options.source ?? ALL_FORTUNES;
  const dir = options.dir ?? process.env.FORTUNE_DIR ?? DEFAULT_FORTUNE_DIR;
  const files = source.files.map((f) => join(dir, f));
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length > 0) {
    throw new CorpusMissingError(
      `default-model corpus: ${missing.length} fortune file(s) are missing (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}). ` +
        `Install them with \`sudo apt-get install ${source.package}\` (Debian/Ubuntu), or point FORTUNE_DIR at a folder holding the files ${source.files.join(', ')}.`,
    );
  }
  const sentences = [...new Set(files.flatMap((f) => extractSentences(readFileSync(f, 'latin1'))))];
  const { train, heldOut } = splitPairs(sentences.map((id) => ({ id })), options.heldOutFraction ?? 0.1, options.seed ?? 0);
  return { train: train.map((s) => s.id), heldOut: heldOut.map((s) => s.id), source };
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
