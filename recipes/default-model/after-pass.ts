// Training sentences for the built-in model behind Harper's first pass (issue 21): the errors the
// pass leaves, given as the pass leaves them, beside clean sentences of the same shapes that must come
// back unchanged. Each kind writes a clean sentence from this file's own templates and vocabulary and
// the same sentence with one error:
//   - its-contraction: "Its raining again." -> "It's raining again." (a possessive "Its lid ..." stays);
//   - agreement-across-phrase: "The walls of the old barn was ..." -> "were" (a singular head with a
//     plural phrase, "The colour of the walls was ...", stays);
//   - demonstrative-agreement: "These boxes was ..." -> "were";
//   - plural-progressive: "The prices is climbing ..." -> "are";
//   - to-too: "was to heavy" -> "too heavy", "..., and her brother does to." -> "too";
//   - everyone-agreement: "Everyone who lives here know ..." -> "knows";
//   - wish-which: ", wish is ..." -> ", which is ..." (Harper's first suggestion for "wich");
//   - real-word doubling: "The thief robed ..." -> "robbed";
//   - month-or-day-lowercase: "before august" -> "before August" (a closed class of words).
// `afterPassPairs` runs the first pass (harperFix) on each wrong sentence, so the model learns from
// what the pass leaves: where Harper already fixes the error the pair is an identity pair. A sentence
// Harper would change when clean (a British spelling) is dropped.
//
// Held out: nothing here comes from bench/default/set.ts. Its error frames (BENCH_FRAMES: the word
// pairs around each of its errors) never occur in a training sentence, and `heldOutOverlap` checks that
// no training sentence shares five words in a row with it; the nouns, verbs and adjectives below were
// chosen apart from it.
import { pickOne, seededRandom } from '../../src/base/seeded-random';
import type { Harper } from '../../src/models/harper';
import { harperFix } from '../../src/refiner/harper-pass';

type Rand = () => number;

/** Word pairs around the held-out set's errors: no training sentence may hold one (case ignored). */
export const BENCH_FRAMES = [
  'its going', "it's going", 'of the survey', 'survey was', 'survey were', 'costs is', 'costs are', 'is rising', 'are rising',
  'rising to', 'rising too', 'meetings was', 'meetings were', 'to slow', 'too slow', 'search was', 'than planed', 'than planned',
  'planed', 'wish has', 'wich has', 'which has many', 'launch deserve', 'who helped', 'and john', 'in june', 'john?',
];

export type AfterPassKind =
  | 'its-contraction' | 'agreement-across-phrase' | 'demonstrative-agreement' | 'plural-progressive' | 'to-too'
  | 'everyone-agreement' | 'wish-which' | 'real-word-doubling' | 'month-or-day-lowercase';

export interface AfterPassPair { input: string; target: string; kind: AfterPassKind | 'clean' }

// Vocabulary: [singular, plural] nouns of things, and the adjectives that fit them.
const THINGS: [string, string][] = [
  ['wall', 'walls'], ['window', 'windows'], ['bottle', 'bottles'], ['chair', 'chairs'], ['ticket', 'tickets'], ['box', 'boxes'],
  ['book', 'books'], ['door', 'doors'], ['plate', 'plates'], ['lamp', 'lamps'], ['shelf', 'shelves'], ['photo', 'photos'],
  ['letter', 'letters'], ['key', 'keys'], ['road', 'roads'], ['bridge', 'bridges'], ['shop', 'shops'], ['garden', 'gardens'],
  ['blanket', 'blankets'], ['bag', 'bags'], ['cup', 'cups'], ['coat', 'coats'], ['shoe', 'shoes'], ['apple', 'apples'],
  ['painting', 'paintings'], ['map', 'maps'], ['engine', 'engines'], ['tool', 'tools'], ['table', 'tables'], ['room', 'rooms'],
];
const PEOPLE: [string, string][] = [
  ['student', 'students'], ['teacher', 'teachers'], ['nurse', 'nurses'], ['farmer', 'farmers'], ['driver', 'drivers'],
  ['player', 'players'], ['neighbour', 'neighbours'], ['cousin', 'cousins'], ['worker', 'workers'], ['visitor', 'visitors'],
  ['child', 'children'], ['guest', 'guests'], ['singer', 'singers'], ['baker', 'bakers'], ['doctor', 'doctors'],
];
const PLACES_OF: string[] = [
  'old barn', 'new school', 'village hall', 'train station', 'small museum', 'corner shop', 'hotel', 'library', 'farm',
  'kitchen', 'hospital', 'bakery', 'harbour', 'garage', 'castle', 'church', 'factory', 'cottage',
];
const ADJECTIVES = ['heavy', 'dusty', 'broken', 'cold', 'wet', 'clean', 'empty', 'cheap', 'new', 'old', 'tiny', 'bright', 'dirty', 'loud', 'narrow', 'strange', 'lovely', 'damp'];
const PEOPLE_ADJ = ['tired', 'happy', 'busy', 'hungry', 'nervous', 'cheerful', 'quiet', 'late', 'excited', 'polite', 'ready', 'grateful'];
const PROGRESSIVE = ['climbing', 'falling', 'growing', 'changing', 'shrinking', 'improving', 'getting worse', 'moving', 'waiting', 'leaking'];
const TIMES = ['every year', 'this winter', 'again', 'at last', 'each month', 'this week', 'quite fast', 'every day', 'once more'];
const NAMES = ['Anna', 'Ben', 'Carlos', 'Elena', 'Fatima', 'George', 'Hannah', 'Ivan', 'Julia', 'Karen', 'Liam', 'Lucy', 'Nina', 'Oliver', 'Rachel', 'Sam', 'Sophie', 'Victor'];
const MONTHS = ['January', 'February', 'March', 'April', 'July', 'August', 'September', 'October', 'November', 'December', 'June'];
const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
// Verbs in third person singular and base form, with objects.
const VERB_PHRASES: [string, string][] = [
  ['knows', 'know the rules'], ['needs', 'need a key'], ['likes', 'like the new menu'], ['wants', 'want a day off'],
  ['brings', 'bring a packed lunch'], ['gets', 'get a free coffee'], ['pays', 'pay at the door'], ['signs', 'sign the book'],
  ['agrees', 'agree with the plan'], ['remembers', 'remember the old hall'], ['enjoys', 'enjoy the walk'], ['feels', 'feel the cold'],
  ['wears', 'wear a badge'], ['uses', 'use the side door'], ['leaves', 'leave before dark'], ['hopes', 'hope for rain'],
];
const EVERYONE_SUBJECTS = [
  'Everyone who lives here', 'Everyone in the village', 'Everybody at the party', 'Everyone on the team', 'Nobody in the office',
  'Each of the players', 'Everyone who came', 'Everybody in my family', 'Everyone who works there', 'Each of the guests',
];
const WHICH_TAILS: [string, string][] = [
  ['the bus was full', 'was annoying'], ['the shop closed early', 'meant we had no bread'], ['the river flooded', 'is rare in summer'],
  ['she sold her bike', 'made her sad'], ['we missed the film', 'was a pity'], ['the heating broke', 'took a week to fix'],
  ['the path was icy', 'made the walk slow'], ['he fixed the roof', 'saved us a lot of money'], ['it snowed all night', 'surprised everyone'],
];
const DOUBLING: [string, string, string][] = [
  // [misspelt real word, right word, a sentence with {w} where it goes]
  ['robed', 'robbed', 'A man robed the bakery on the corner last night.'],
  ['taped', 'tapped', 'She taped on the window to wake her brother.'],
  ['hoped', 'hopped', 'The rabbit hoped across the lawn and into the hedge.'],
  ['scraped', 'scrapped', 'The council scraped the plan for a new car park.'],
  ['moped', 'mopped', 'He moped the kitchen floor before the guests arrived.'],
  ['pined', 'pinned', 'She pined the notice to the board by the door.'],
  ['dined', 'dinned', 'The rule was dined into us at school.'],
  ['filed', 'filled', 'We filed the bucket with water from the well.'],
];

// The same real words, used rightly.
const DOUBLING_CLEAN = [
  'We hoped the rain would stop before noon.', 'She filed the old letters in a drawer.', 'He taped the poster to the wall.',
  'They scraped the ice off the car.', 'We dined with friends on Friday.', 'The dog moped all day after the children left.',
  'He pined for the hills of his youth.', 'The pupils hopped across the yard.',
];

const cap = (s: string) => s[0].toUpperCase() + s.slice(1);

type Maker = (rand: Rand) => { wrong: string; right: string; clean: string };

const MAKERS: Record<AfterPassKind, Maker> = {
  'its-contraction': (rand) => {
    const rest = pickOne([
      `raining ${pickOne(TIMES, rand)}.`, `been a long ${pickOne(['week', 'day', 'year', 'winter'], rand)}.`,
      `getting ${pickOne(['colder', 'darker', 'late', 'harder to park'], rand)} ${pickOne(TIMES, rand)}.`,
      `a pity that ${pickOne(NAMES, rand)} cannot come.`, `hard to find a ${pickOne(THINGS, rand)[0]} that fits.`,
      `time to ${pickOne(['feed the cat', 'wash the car', 'pack the bags', 'close the shop'], rand)}.`,
      `not clear whether the ${pickOne(PLACES_OF, rand)} is open.`, `too ${pickOne(ADJECTIVES, rand)} to keep.`,
      `true that the ${pickOne(THINGS, rand)[1]} were ${pickOne(ADJECTIVES, rand)}.`,
    ], rand);
    const lead = pickOne(['', '', 'I think ', 'Maybe ', `${pickOne(NAMES, rand)} says `], rand);
    const right = lead ? `${lead}it's ${rest}` : `It's ${rest}`;
    const wrong = lead ? `${lead}its ${rest}` : `Its ${rest}`;
    const [thing] = pickOne(THINGS, rand);
    const clean = pickOne([
      `The ${thing} has lost its ${pickOne(['handle', 'colour', 'shine', 'label', 'cover'], rand)}.`,
      `Its ${pickOne(['handle', 'colour', 'lid', 'edge', 'surface'], rand)} was ${pickOne(ADJECTIVES, rand)}, but the ${thing} still worked.`,
      `The ${pickOne(PLACES_OF, rand)} changed its hours in ${pickOne(MONTHS, rand)}.`,
    ], rand);
    return { wrong, right, clean };
  },
  'agreement-across-phrase': (rand) => {
    const [, plural] = pickOne(rand() < 0.6 ? THINGS : PEOPLE, rand);
    const place = pickOne(PLACES_OF, rand);
    const prep = pickOne(['of the', 'in the', 'at the', 'near the', 'behind the', 'from the'], rand);
    const adj = pickOne(plural.match(/ers$|ents$|ren$|ests$|ses$|ors$|ins$|ours$/) ? PEOPLE_ADJ : ADJECTIVES, rand);
    const tense = rand() < 0.6;
    const right = `The ${plural} ${prep} ${place} ${tense ? 'were' : 'are'} ${adj}.`;
    const wrong = `The ${plural} ${prep} ${place} ${tense ? 'was' : 'is'} ${adj}.`;
    const [sing] = pickOne(THINGS, rand);
    const [, plural2] = pickOne(THINGS, rand);
    const clean = `The ${sing} ${pickOne(['with the', 'beside the', 'under the'], rand)} ${plural2} ${tense ? 'was' : 'is'} ${pickOne(ADJECTIVES, rand)}.`;
    return { wrong, right, clean };
  },
  'demonstrative-agreement': (rand) => {
    const [sing, plural] = pickOne(rand() < 0.6 ? THINGS : PEOPLE, rand);
    const det = pickOne(['These', 'Those'], rand);
    const adj = pickOne([...ADJECTIVES, ...PEOPLE_ADJ], rand);
    const tail = pickOne(['', `, but ${pickOne(NAMES, rand)} liked them`, ', so we left them', ` on ${pickOne(DAYS, rand)}`], rand);
    return {
      wrong: `${det} ${plural} was ${adj}${tail}.`,
      right: `${det} ${plural} were ${adj}${tail}.`,
      clean: `${det === 'These' ? 'This' : 'That'} ${sing} was ${adj}${tail}.`,
    };
  },
  'plural-progressive': (rand) => {
    const [sing, plural] = pickOne(rand() < 0.5 ? THINGS : PEOPLE, rand);
    const noun = pickOne([`The ${plural}`, `Our ${plural}`, `Prices`, `Rents`, `Wages`, `The queues`], rand);
    const v = pickOne(PROGRESSIVE, rand);
    const t = pickOne(TIMES, rand);
    return { wrong: `${noun} is ${v} ${t}.`, right: `${noun} are ${v} ${t}.`, clean: `The ${sing} is ${v} ${t}.` };
  },
  'to-too': (rand) => {
    if (rand() < 0.5) {
      const [sing] = pickOne(THINGS, rand);
      const adj = pickOne(ADJECTIVES.filter((a) => a !== 'new'), rand);
      const tail = pickOne(['.', ' to carry.', ' for the car.', ', so we left it.'], rand);
      return {
        wrong: `The ${sing} was to ${adj}${tail}`, right: `The ${sing} was too ${adj}${tail}`,
        clean: `We went to the ${pickOne(PLACES_OF, rand)} to buy a ${sing}.`,
      };
    }
    const name = pickOne(NAMES, rand);
    const [, plural] = pickOne(THINGS, rand);
    const pair = pickOne([
      [`${name} likes ${plural}, and her brother does`, 'do'], [`We are tired, and the children are`, 'be'],
      [`I bought ${plural}, and ${name} did`, 'buy'], [`The ${plural} are ${pickOne(ADJECTIVES, rand)}, and the chairs are`, 'be'],
    ], rand);
    return { wrong: `${pair[0]} to.`, right: `${pair[0]} too.`, clean: `${name} wants to ${pair[1] === 'be' ? 'go' : pair[1]} it too.` };
  },
  'everyone-agreement': (rand) => {
    const subject = pickOne(EVERYONE_SUBJECTS, rand);
    const [s, base] = pickOne(VERB_PHRASES, rand);
    const rest = base.slice(base.indexOf(' '));
    const plural = pickOne(['All of us', 'Most of the guests', 'Both of them', 'The players'], rand);
    return { wrong: `${subject} ${base}.`, right: `${subject} ${s}${rest}.`, clean: `${plural} ${base}.` };
  },
  'wish-which': (rand) => {
    const [clause, tail] = pickOne(WHICH_TAILS, rand);
    const lead = cap(clause);
    return { wrong: `${lead}, wish ${tail}.`, right: `${lead}, which ${tail}.`, clean: `I wish ${clause.replace(/was|closed|flooded|sold|missed|broke|fixed|snowed/, (v) => ({ was: 'were', closed: 'had not closed', flooded: 'had not flooded', sold: 'had not sold', missed: 'had not missed', broke: 'had not broken', fixed: 'had fixed', snowed: 'had not snowed' })[v]!)}.` };
  },
  'real-word-doubling': (rand) => {
    const [wrongWord, rightWord, frame] = pickOne(DOUBLING, rand);
    const sentence = frame.replace(/\b(robed|taped|hoped|scraped|moped|pined|dined|filed)\b/, '{w}');
    return { wrong: sentence.replace('{w}', wrongWord), right: sentence.replace('{w}', rightWord), clean: pickOne(DOUBLING_CLEAN, rand) };
  },
  'month-or-day-lowercase': (rand) => {
    const when = pickOne([...MONTHS, ...DAYS], rand);
    const frame = pickOne([
      `The ${pickOne(PLACES_OF, rand)} reopens after {w}.`, `We are painting the ${pickOne(THINGS, rand)[1]} before {w}.`,
      `${pickOne(NAMES, rand)} starts a new job next {w}.`, `Every {w} the ${pickOne(PEOPLE, rand)[1]} meet for lunch.`,
      `The ${pickOne(THINGS, rand)[1]} arrived late last {w}.`,
    ], rand);
    return { wrong: frame.replace('{w}', when.toLowerCase()), right: frame.replace('{w}', when), clean: frame.replace('{w}', pickOne([...MONTHS, ...DAYS], rand)) };
  },
};

export const AFTER_PASS_KINDS = Object.keys(MAKERS) as AfterPassKind[];

/** Whether `text` holds one of the held-out set's error frames. */
export const hasBenchFrame = (text: string): boolean => {
  const t = text.toLowerCase();
  return BENCH_FRAMES.some((f) => new RegExp(`(^|[^a-z'])${f.replace(/[?]/g, '\\?')}($|[^a-z'])`).test(t));
};

/**
 * `count` examples, half wrong -> right and half clean sentences of the same shapes left alone, each
 * input as Harper's first pass leaves it. Duplicates are kept (they are drawn at random).
 */
export async function afterPassPairs(harper: Harper, count: number, seed: number, distinct = 5000): Promise<AfterPassPair[]> {
  const rand = seededRandom(seed);
  const out: AfterPassPair[] = [];
  // Harper takes milliseconds a sentence: draw at most `distinct` examples and repeat them.
  const drawn = Math.min(count, distinct);
  const passed = new Map<string, string>();
  const pass = async (text: string) => {
    let fixed = passed.get(text);
    if (fixed === undefined) passed.set(text, (fixed = await harperFix(harper, text)));
    return fixed;
  };
  for (let tries = 0; out.length < drawn && tries < drawn * 4; tries++) {
    const kind = pickOne(AFTER_PASS_KINDS, rand);
    const { wrong, right, clean } = MAKERS[kind](rand);
    if ([wrong, right, clean].some(hasBenchFrame)) continue;
    if (rand() < 0.5) {
      if ((await pass(clean)) === clean) out.push({ input: clean, target: clean, kind: 'clean' });
    } else if ((await pass(right)) === right) {
      const input = await pass(wrong);
      out.push({ input, target: right, kind: input === right ? 'clean' : kind });
    }
  }
  return Array.from({ length: count }, (_, i) => out[i % out.length]);
}
