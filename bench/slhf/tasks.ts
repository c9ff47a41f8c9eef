// The bench's sentences: short stems of common words (the built-in model copies these reliably, so
// what is measured is the choice of ending and the typo fixes, not its copying), split into
// training and held-out stems, and typo versions of them for the task with a transitive part.
import { seededRandom } from '../../src/models/seeded-random';
import { corrupt, type CorruptionKind } from '../../src/training/corruption';
import { ENDINGS } from './judge';

export const TRAIN_STEMS = [
  'We went home', 'It is late', 'She likes tea', 'The sun is up', 'He reads', 'They play', 'The dog ran',
  'I like green', 'You are kind', 'The door is open', 'We ate', 'The sky is blue', 'He sings', 'It is cold',
  'She writes', 'They walked', 'It rained', 'I found it', 'The cake is good', 'We need time', 'Birds fly',
  'He lost his hat', 'The room is dark', 'I am here',
];

export const HELD_OUT_STEMS = [
  'The water is deep', 'She came back', 'The night was long', 'They built it', 'The wind is strong',
  'I miss you', 'The tea is hot', 'He fixed the car', 'We won', 'She smiled',
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
