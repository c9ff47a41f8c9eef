// Simulated users for the closed-loop benchmark. Each writes drafts and knows the text it wants
// for each; it accepts a refinement only when it is exactly that text, and otherwise rejects it or
// corrects it by hand (accepted-edited), as a demanding user would.
import { pickOne as pick } from '../../src/base/seeded-random';

export interface Task {
  draft: string;
  /** What this user wants the draft to become. */
  ideal: string;
}

export interface SimulatedUser {
  name: string;
  taste: string;
  /** A draft and its ideal, drawn with `rand` from the user's kind of text. */
  task(rand: () => number): Task;
}

const US_TO_UK: Record<string, string> = {
  color: 'colour', flavor: 'flavour', humor: 'humour', honor: 'honour', behavior: 'behaviour', neighbor: 'neighbour',
  harbor: 'harbour', labor: 'labour', rumor: 'rumour', favorite: 'favourite', center: 'centre', theater: 'theatre',
  gray: 'grey', realize: 'realise', organize: 'organise', recognize: 'recognise', apologize: 'apologise', analyze: 'analyse',
};
const NOUNS = ['color', 'flavor', 'humor', 'honor', 'behavior', 'neighbor', 'harbor', 'labor', 'rumor'];
const PLACES = ['center', 'theater'];
const VERBS = ['realize', 'organize', 'recognize', 'apologize', 'analyze'];
const ADJECTIVES = ['strange', 'quiet', 'gray', 'pleasant', 'odd', 'familiar'];
const SUBJECTS = ['We', 'They', 'I', 'You'];

const toBritish = (text: string) => text.replace(/\b[a-z]+\b/g, (w) => US_TO_UK[w] ?? w);

/** Short sentences built from American spellings; wants them British. */
export const britishUser: SimulatedUser = {
  name: 'british',
  taste: 'British spelling (colour, centre, realise)',
  task(rand) {
    const sentence = pick([
      () => `The ${pick(NOUNS, rand)} of the ${pick(PLACES, rand)} was ${pick(ADJECTIVES, rand)}.`,
      () => `${pick(SUBJECTS, rand)} could not ${pick(VERBS, rand)} the ${pick(NOUNS, rand)}.`,
      () => `My ${pick(['favorite', 'gray'], rand)} ${pick(['hat', 'chair', 'book'], rand)} is in the ${pick(PLACES, rand)}.`,
    ], rand)();
    return { draft: sentence, ideal: toBritish(sentence) };
  },
};

/**
 * Sentences of the corpus ending in '!' or in nothing; wants a final '.'. (The other half of this
 * taste, no trailing whitespace, is out of any model's reach: the refiner gives a refinement the
 * selection's own outer whitespace back, by design, so that replacing a selection never eats a line
 * break. A first run with trailing spaces in the drafts measured 0 acceptance for both methods.)
 */
export function tidyUser(sentences: readonly string[]): SimulatedUser {
  return {
    name: 'tidy',
    taste: "a final full stop ('!' or none becomes '.')",
    task(rand) {
      const stem = pick(sentences, rand).replace(/[.!?]+$/, '');
      return { draft: `${stem}${rand() < 0.5 ? '!' : ''}`, ideal: `${stem}.` };
    },
  };
}

/**
 * Three sentence endings A = '.', B = '!', C = '...' with B > A, C > B and A > C: whatever the
 * draft ends with, one ending beats it, so no scalar score of a text can rank them.
 */
export function cyclicUser(sentences: readonly string[]): SimulatedUser {
  const ends = ['.', '!', '...'];
  return {
    name: 'cyclic',
    taste: "intransitive endings: '!' over '.', '...' over '!', '.' over '...'",
    task(rand) {
      const stem = pick(sentences, rand).replace(/[.!?]+$/, '');
      const from = Math.floor(rand() * 3);
      return { draft: stem + ends[from], ideal: stem + ends[(from + 1) % 3] };
    },
  };
}

/** Corrupted sentences (typos, doubled words, casing, spacing, final marks); wants the clean sentence. */
export function fixerUser(pairs: readonly { input: string; target: string }[]): SimulatedUser {
  return {
    name: 'fixer',
    taste: 'the clean sentence',
    task: (rand) => {
      const p = pick(pairs, rand);
      return { draft: p.input, ideal: p.target };
    },
  };
}
