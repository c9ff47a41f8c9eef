// The bench's sentences: short stems of common words (the built-in model copies these reliably, so
// what is measured is the choice of ending and the typo fixes, not its copying), split into
// training and held-out stems, and typo versions of them for the task with a transitive part.
import { seededRandom } from '../../src/base/seeded-random';
import { corrupt, type CorruptionKind } from '../../lab/corruption';
import { ENDINGS } from './judge';

// Training stems: every subject with every predicate (96 short sentences, past tense so that every
// pair agrees), so that the warm start cannot memorize a few sentences; held-out stems are other
// sentences, never trained on.
const SUBJECTS = ['We', 'They', 'I', 'You', 'She', 'He', 'The cat', 'My friend'];
const PREDICATES = ['went home', 'ate lunch', 'saw the sea', 'found a key', 'lost the game', 'made tea', 'read a book', 'came late', 'sang a song', 'left early', 'won', 'slept well'];
export const TRAIN_STEMS = SUBJECTS.flatMap((s) => PREDICATES.map((p) => `${s} ${p}`));

export const HELD_OUT_STEMS = [
  'The water is deep', 'The night was long', 'The wind is strong', 'The tea is hot', 'He fixed the car',
  'She smiled', 'I miss you', 'They built it', 'It is late', 'The sky is blue', 'Dogs bark', 'The door is open',
];

/** Typos only: the final mark is the cyclic part, and a doubled word or stray space is not a typo. */
const TYPO_KINDS: readonly CorruptionKind[] = ['adjacent-key', 'transposition', 'deletion', 'misspelling', 'lowercase-start'];

/** A draft of the typo task: a stem with one or two typos, an ending, and the clean stem it should be. */
export interface TypoDraft {
  clean: string;
  /** The stem with its typos, without an ending. */
  typo: string;
  ending: number;
}

/** `count` typo drafts over `stems`, endings uniform; seeded. */
export function typoDrafts(stems: readonly string[], count: number, seed: number): TypoDraft[] {
  const rand = seededRandom(seed);
  const out: TypoDraft[] = [];
  while (out.length < count) {
    const clean = stems[out.length % stems.length];
    const { text } = corrupt(clean, rand, 1 + Math.floor(rand() * 2), TYPO_KINDS);
    if (text === clean) continue;
    out.push({ clean, typo: text, ending: Math.floor(rand() * ENDINGS.length) });
  }
  return out;
}

export const withEnding = (stem: string, ending: number): string => `${stem}${ENDINGS[ending]}`;
