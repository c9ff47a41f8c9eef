// Synthetic refinement data for the embedded default refiner: clean sentences are corrupted the
// way people mistype (typos, common misspellings, doubled words, a lowercase start, stray spaces, a
// missing final mark), and the model learns corrupted -> clean. Clean -> clean pairs are mixed in
// so that it also learns to leave good text alone. Pure and seeded: the same seed gives the same
// pairs on every machine.
import { pickOne as pick, seededRandom } from '../src/base/seeded-random';

export type CorruptionKind =
  | 'adjacent-key' | 'transposition' | 'deletion' | 'misspelling'
  | 'doubled-word' | 'lowercase-start' | 'stray-space' | 'missing-final-punctuation';

/** In the order they are applied when several hit one sentence. */
export const CORRUPTION_KINDS: readonly CorruptionKind[] = [
  'misspelling', 'adjacent-key', 'transposition', 'deletion', 'doubled-word', 'lowercase-start', 'stray-space', 'missing-final-punctuation',
];

/** Common misspellings, misspelled -> correct. */
export const MISSPELLINGS: Readonly<Record<string, string>> = {
  teh: 'the', recieve: 'receive', beleive: 'believe', definately: 'definitely', seperate: 'separate',
  occured: 'occurred', untill: 'until', wich: 'which', becuase: 'because', freind: 'friend',
  wierd: 'weird', begining: 'beginning', tommorow: 'tomorrow', neccessary: 'necessary', goverment: 'government',
  realy: 'really', thier: 'their', acheive: 'achieve', adress: 'address', truely: 'truly',
  alot: 'a lot', wont: "won't", dont: "don't", im: "I'm", becomming: 'becoming',
  existance: 'existence', enviroment: 'environment', knowlege: 'knowledge', peice: 'piece', wether: 'whether',
};

// correct (lowercase) -> misspellings of it; multi-word and apostrophe forms are left out because
// sentences are searched word by word.
const MISSPELLED_FORMS = new Map<string, string[]>();
for (const [wrong, right] of Object.entries(MISSPELLINGS)) {
  if (!/^[a-z]+$/.test(right)) continue;
  MISSPELLED_FORMS.set(right, [...(MISSPELLED_FORMS.get(right) ?? []), wrong]);
}

// Neighbours on a QWERTY keyboard (same row and the rows above and below).
const KEY_ROWS = ['qwertyuiop', 'asdfghjkl', 'zxcvbnm'];
const NEIGHBOURS = new Map<string, string>();
KEY_ROWS.forEach((row, r) => {
  [...row].forEach((key, c) => {
    const near = [row[c - 1], row[c + 1], KEY_ROWS[r - 1]?.[c], KEY_ROWS[r - 1]?.[c + 1], KEY_ROWS[r + 1]?.[c - 1], KEY_ROWS[r + 1]?.[c]];
    NEIGHBOURS.set(key, near.filter((k): k is string => k !== undefined).join(''));
  });
});

type Rand = () => number;
const isLetter = (ch: string | undefined) => ch !== undefined && /[A-Za-z]/.test(ch);
const sameCase = (like: string, ch: string) => (like === like.toUpperCase() ? ch.toUpperCase() : ch.toLowerCase());
const splice = (text: string, at: number, remove: number, insert: string) => text.slice(0, at) + insert + text.slice(at + remove);

interface Word { start: number; text: string }
const words = (text: string): Word[] => [...text.matchAll(/[A-Za-z]+/g)].map((m) => ({ start: m.index!, text: m[0] }));

/** Positions i where `test(i)` holds. */
const positions = (text: string, test: (i: number) => boolean) => [...text].map((_, i) => i).filter(test);

/** A corruption of `text`, or null when it does not apply (nothing to act on). */
type Corruption = (text: string, rand: Rand) => string | null;

const CORRUPTIONS: Record<CorruptionKind, Corruption> = {
  'adjacent-key': (text, rand) => {
    const at = positions(text, (i) => NEIGHBOURS.has(text[i].toLowerCase()));
    if (at.length === 0) return null;
    const i = pick(at, rand);
    return splice(text, i, 1, sameCase(text[i], pick([...NEIGHBOURS.get(text[i].toLowerCase())!], rand)));
  },
  transposition: (text, rand) => {
    const at = positions(text, (i) => isLetter(text[i]) && isLetter(text[i + 1]) && text[i].toLowerCase() !== text[i + 1].toLowerCase());
    if (at.length === 0) return null;
    const i = pick(at, rand);
    return splice(text, i, 2, text[i + 1] + text[i]);
  },
  // Inside words of three or more letters, so a word never disappears.
  deletion: (text, rand) => {
    const at = words(text).filter((w) => w.text.length >= 3).flatMap((w) => [...w.text].map((_, j) => w.start + j));
    if (at.length === 0) return null;
    return splice(text, pick(at, rand), 1, '');
  },
  misspelling: (text, rand) => {
    const hits = words(text).filter((w) => MISSPELLED_FORMS.has(w.text.toLowerCase()));
    if (hits.length === 0) return null;
    const w = pick(hits, rand);
    const wrong = pick(MISSPELLED_FORMS.get(w.text.toLowerCase())!, rand);
    return splice(text, w.start, w.text.length, w.text[0] === w.text[0].toUpperCase() ? wrong[0].toUpperCase() + wrong.slice(1) : wrong);
  },
  // A word other than the first, written twice ("on the the mat").
  'doubled-word': (text, rand) => {
    const later = words(text).slice(1);
    if (later.length === 0) return null;
    const w = pick(later, rand);
    return splice(text, w.start + w.text.length, 0, ` ${w.text}`);
  },
  'lowercase-start': (text) => (/^[A-Z]/.test(text) ? text[0].toLowerCase() + text.slice(1) : null),
  // A doubled gap between words, or a space before a punctuation mark.
  'stray-space': (text, rand) => {
    const at = positions(text, (i) => (text[i] === ' ' && text[i - 1] !== ' ' && i > 0) || (/[,.;:!?]/.test(text[i]) && isLetter(text[i - 1])));
    if (at.length === 0) return null;
    return splice(text, pick(at, rand), 0, ' ');
  },
  'missing-final-punctuation': (text) => (/[.!?]$/.test(text) ? text.replace(/[.!?]+$/, '') : null),
};

/** Applies one kind of corruption; null when it does not apply to this text. */
export function applyCorruption(kind: CorruptionKind, text: string, rand: Rand): string | null {
  const out = CORRUPTIONS[kind](text, rand);
  return out === null || out === text ? null : out;
}

export interface Corrupted {
  text: string;
  /** The kinds that changed the text, in the order applied. */
  applied: CorruptionKind[];
}

/** Up to `count` distinct kinds (drawn from `kinds`) that apply, in canonical order. */
export function corrupt(text: string, rand: Rand, count: number, kinds: readonly CorruptionKind[] = CORRUPTION_KINDS): Corrupted {
  const order = [...kinds];
  const chosen: CorruptionKind[] = [];
  // Draw kinds at random until `count` applied or none is left to try.
  while (chosen.length < count && order.length > 0) {
    const kind = order.splice(Math.floor(rand() * order.length), 1)[0];
    const candidate = applyCorruption(kind, text, rand);
    if (candidate !== null) chosen.push(kind);
  }
  let out = text;
  const applied: CorruptionKind[] = [];
  for (const kind of CORRUPTION_KINDS.filter((k) => chosen.includes(k))) {
    const next = applyCorruption(kind, out, rand);
    if (next === null) continue;
    out = next;
    applied.push(kind);
  }
  return { text: out, applied };
}

/** One training or evaluation example: `input` should be refined into `target`. */
export interface RefinementPair {
  input: string;
  target: string;
  /** Empty for a clean -> clean pair. */
  applied: CorruptionKind[];
}

export interface PairOptions {
  seed: number;
  /** Fraction of pairs left clean (clean -> clean), in [0, 1]. */
  cleanRate: number;
  /** Corruptions per corrupted sentence: between 1 and this (default 2). */
  maxCorruptions?: number;
  kinds?: readonly CorruptionKind[];
}

/** One pair per sentence, in order: clean with probability cleanRate, otherwise corrupted. */
export function makeRefinementPairs(sentences: readonly string[], options: PairOptions): RefinementPair[] {
  const { seed, cleanRate, maxCorruptions = 2, kinds = CORRUPTION_KINDS } = options;
  if (!(cleanRate >= 0 && cleanRate <= 1)) throw new Error(`refinement pairs: cleanRate must be in [0, 1], got ${cleanRate}`);
  if (!(Number.isInteger(maxCorruptions) && maxCorruptions >= 1)) throw new Error(`refinement pairs: maxCorruptions must be a positive integer, got ${maxCorruptions}`);
  const unknown = kinds.find((k) => !CORRUPTION_KINDS.includes(k));
  if (unknown !== undefined) throw new Error(`refinement pairs: unknown corruption kind ${unknown} (known: ${CORRUPTION_KINDS.join(', ')})`);
  const rand = seededRandom(seed);
  return sentences.map((clean) => {
    if (rand() < cleanRate) return { input: clean, target: clean, applied: [] };
    const { text, applied } = corrupt(clean, rand, 1 + Math.floor(rand() * maxCorruptions), kinds);
    return { input: text, target: clean, applied };
  });
}
