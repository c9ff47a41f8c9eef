// Error kinds beyond typos for the built-in model's continued training (issue 21): the mistakes a
// spelling checker's first pass (Harper) leaves behind or gets wrong. Names of days, months, people
// and places written in lower case; "i" inside a sentence; its/it's; their/there/they're; "should
// of"; subject-verb agreement; "to" for "too"; a missing comma before "which". Like
// lab/corruption.ts each kind turns a clean sentence into a wrong one (null when it does
// not apply), and the model learns wrong -> clean. Pure and seeded.
//
// `everydaySentences` writes short clean sentences from templates (this recipe's own text), because
// the fortune files rarely name a weekday, a month or a city, and a model cannot learn to capitalize
// "tuesday" from sentences that never hold it. Nothing here is taken from the hand-written held-out
// set of bench/default/set.ts; `heldOutOverlap` checks that.
import { pickOne as pick, seededRandom } from '../../src/base/seeded-random';

type Rand = () => number;

export const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
export const MONTHS = ['January', 'February', 'March', 'April', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
export const FIRST_NAMES = [
  'Anna', 'Ben', 'Carlos', 'David', 'Elena', 'Fatima', 'George', 'Hannah', 'Ivan', 'James', 'John', 'Julia', 'Karen', 'Liam',
  'Lucy', 'Mark', 'Maria', 'Michael', 'Nina', 'Oliver', 'Paul', 'Peter', 'Rachel', 'Sam', 'Sarah', 'Sophie', 'Thomas', 'Tom',
  'Victor', 'William', 'Emma', 'Daniel', 'Laura', 'Robert', 'Alice', 'Chris', 'Kate', 'Mary', 'Steve', 'Jack', 'Emily', 'Omar',
];
export const PLACES = [
  'London', 'Paris', 'Berlin', 'Madrid', 'Rome', 'Vienna', 'Dublin', 'Boston', 'Chicago', 'Toronto', 'Sydney', 'Tokyo', 'Lisbon',
  'Prague', 'Oslo', 'Zurich', 'Amsterdam', 'Brussels', 'Warsaw', 'Athens', 'Seattle', 'Denver', 'Texas', 'Canada', 'France',
  'Germany', 'Spain', 'Italy', 'Japan', 'India', 'Mexico', 'Brazil', 'Europe', 'Africa', 'Scotland', 'Ireland', 'Norway',
];
const LANGUAGES = ['English', 'French', 'German', 'Spanish', 'Italian', 'Japanese'];
/** Words that are always capitalized: lower case anywhere is an error. */
export const PROPER_NOUNS = new Set([...WEEKDAYS, ...MONTHS, ...FIRST_NAMES, ...PLACES, ...LANGUAGES]);

export type GrammarKind =
  | 'proper-noun-lowercase' | 'i-lowercase' | 'its-its' | 'their-there' | 'should-of' | 'agreement' | 'to-too' | 'which-comma' | 'sentence-start-lowercase';

export const GRAMMAR_KINDS: readonly GrammarKind[] = [
  'proper-noun-lowercase', 'i-lowercase', 'its-its', 'their-there', 'should-of', 'agreement', 'to-too', 'which-comma', 'sentence-start-lowercase',
];

interface Hit { start: number; end: number; replacement: string }
const matches = (text: string, re: RegExp) => [...text.matchAll(re)];
const apply = (text: string, h: Hit) => text.slice(0, h.start) + h.replacement + text.slice(h.end);
const lowerFirst = (w: string) => w[0].toLowerCase() + w.slice(1);
const keepCase = (like: string, w: string) => (/^[A-Z]/.test(like) ? w[0].toUpperCase() + w.slice(1) : w);

/** Every place a kind could strike, as replacements of a span. */
const CANDIDATES: Record<GrammarKind, (text: string) => Hit[]> = {
  'proper-noun-lowercase': (text) =>
    matches(text, /\b[A-Z][a-z]+\b/g).filter((m) => PROPER_NOUNS.has(m[0])).map((m) => ({ start: m.index!, end: m.index! + m[0].length, replacement: m[0].toLowerCase() })),
  // "I", "I'm", "I'll"... after the first word (a lowercase sentence start is its own kind).
  'i-lowercase': (text) => matches(text, /(?<=\S )I\b/g).map((m) => ({ start: m.index!, end: m.index! + 1, replacement: 'i' })),
  'its-its': (text) => [
    ...matches(text, /\b([Ii])t's\b/g).map((m) => ({ start: m.index!, end: m.index! + 4, replacement: `${m[1]}ts` })),
    ...matches(text, /\b([Ii])ts\b/g).map((m) => ({ start: m.index!, end: m.index! + 3, replacement: `${m[1]}t's` })),
  ],
  'their-there': (text) =>
    matches(text, /\b(their|there|they're)\b/gi).map((m) => {
      const others = ['their', 'there', "they're"].filter((w) => w !== m[0].toLowerCase());
      return { start: m.index!, end: m.index! + m[0].length, replacement: keepCase(m[0], others[m.index! % 2]) };
    }),
  'should-of': (text) =>
    matches(text, /\b(should|could|would|must|might)(n't)? have\b/gi).map((m) => ({ start: m.index!, end: m.index! + m[0].length, replacement: m[0].replace(/have$/, 'of') })),
  // The verb of a subject that the sentence states: "she doesn't" -> "she don't", "costs are" ->
  // "costs is", "they were" -> "they was", "he has" -> "he have", "it looks" -> "it look".
  agreement: (text) => [
    ...matches(text, /\b(he|she|it|who|everyone|nobody) doesn't\b/gi).map((m) => ({ start: m.index! + m[1].length + 1, end: m.index! + m[0].length, replacement: "don't" })),
    ...matches(text, /\b(he|she|it|everyone|nobody|[A-Z][a-z]+) (has|does|is)\b/g)
      .map((m) => ({ start: m.index! + m[1].length + 1, end: m.index! + m[0].length, replacement: { has: 'have', does: 'do', is: 'are' }[m[2]]! })),
    ...matches(text, /\b(we|they|you|[a-z]+[^s']s) (are|were|have)\b/gi).filter((m) => !/^(this|his|its|is|was|has|us|yes|thus|plus|less|unless|always|perhaps|across|whereas|as)$/i.test(m[1]))
      .map((m) => ({ start: m.index! + m[1].length + 1, end: m.index! + m[0].length, replacement: { are: 'is', were: 'was', have: 'has' }[m[2].toLowerCase()]! })),
    ...matches(text, /\b(he|she|it|everyone|nobody) ([a-z]{3,}[^s])s\b/g).filter((m) => !/^(is|was|has|does|goes)$/.test(m[2] + 's'))
      .map((m) => ({ start: m.index! + m[1].length + 1, end: m.index! + m[0].length, replacement: m[2] })),
  ],
  'to-too': (text) => matches(text, /\b(too) (much|many|late|early|slow|fast|long|big|small|hot|cold|far|soon|often|hard|busy|tired|expensive|good|bad|high|low)\b/gi)
    .map((m) => ({ start: m.index!, end: m.index! + 3, replacement: keepCase(m[1], 'to') })),
  'which-comma': (text) => matches(text, /, which\b/g).map((m) => ({ start: m.index!, end: m.index! + 1, replacement: '' })),
  // The first word of a second sentence in lower case ("... today. the park is open.").
  'sentence-start-lowercase': (text) =>
    matches(text, /(?<=[.!?] )[A-Z][a-z]*/g).filter((m) => !PROPER_NOUNS.has(m[0]) && m[0] !== 'I').map((m) => ({ start: m.index!, end: m.index! + m[0].length, replacement: lowerFirst(m[0]) })),
};

/** One grammar error of `kind` in `text`, or null when the kind does not apply. */
export function applyGrammarError(kind: GrammarKind, text: string, rand: Rand): string | null {
  const hits = CANDIDATES[kind](text);
  if (hits.length === 0) return null;
  const out = apply(text, pick(hits, rand));
  return out === text ? null : out;
}

/** The kinds that could strike `text`. */
export const applicableKinds = (text: string): GrammarKind[] => GRAMMAR_KINDS.filter((k) => CANDIDATES[k](text).length > 0);

export interface GrammarPair { input: string; target: string; applied: GrammarKind[] }

/**
 * One pair per sentence: clean with probability `cleanRate`, otherwise 1 to `maxErrors` grammar
 * errors of distinct kinds, each applied to the text the previous one left (spans re-found each time).
 */
export function makeGrammarPairs(sentences: readonly string[], options: { seed: number; cleanRate: number; maxErrors?: number }): GrammarPair[] {
  const rand = seededRandom(options.seed);
  const maxErrors = options.maxErrors ?? 2;
  return sentences.map((clean) => {
    if (rand() < options.cleanRate) return { input: clean, target: clean, applied: [] };
    const kinds = applicableKinds(clean);
    const applied: GrammarKind[] = [];
    let text = clean;
    for (let n = 1 + Math.floor(rand() * maxErrors); n > 0 && kinds.length > 0; n--) {
      const kind = kinds.splice(Math.floor(rand() * kinds.length), 1)[0];
      const next = applyGrammarError(kind, text, rand);
      if (next !== null) { text = next; applied.push(kind); }
    }
    return { input: text, target: clean, applied };
  });
}

// Templates: {name} {day} {month} {place} {lang} fill with the lists above; the rest is fixed text.
const TEMPLATES = [
  '{name} is flying to {place} on {day} morning.',
  'I met {name} in {place} last {month}.',
  'Our office in {place} is closed every {day}.',
  'The conference starts on the second {day} of {month}.',
  '{name} and I have known each other since {month}.',
  'I think {name} moved to {place} a few years ago.',
  'We could have taken the early bus to {place}.',
  'You should have told {name} about the change.',
  '{name} would have liked the concert on {day}.',
  "It's too late to book a room in {place} for {month}.",
  "It's a long drive from {place} to the coast.",
  'The company changed its name in {month}.',
  'The cat licked its paws and went back to sleep.',
  "They're visiting their cousins in {place} this {month}.",
  "There are two trains to {place} every {day}, and they're usually on time.",
  'Their house is near the old bridge in {place}.',
  'She doesn\'t work on {day}, so she takes long walks.',
  'He doesn\'t speak {lang}, but he understands a little.',
  '{name} has a new job in {place} and seems happy.',
  '{name} does the shopping on {day} afternoons.',
  'The prices in {place} are higher than last year.',
  'The students were tired after the exam in {month}.',
  'My parents have a small garden behind the house.',
  'The reports have to be finished before {day}.',
  'The streets were too busy to cross safely.',
  'The soup is too hot to eat right now.',
  'I woke up too early on {day} and could not sleep again.',
  'We stayed at a hotel near the harbour, which was cheaper than we expected.',
  'The new library opened in {month}, which pleased everyone in {place}.',
  '{name} fixed the old printer, which had been broken for weeks.',
  'On {day} I will start reading the book {name} gave me.',
  'When I was in {place}, I learned a little {lang}.',
  'Last {month} {name} and I painted the kitchen.',
  'I hope {name} can join us in {place} next {month}.',
  'The museum in {place} opens late on {day} evenings.',
  '{name} says the weather in {place} is lovely in {month}.',
  'Nobody knows where {name} put the keys.',
  'Everyone in the room agrees with {name}.',
  'It rains a lot in {place} in {month}.',
  "If it's sunny on {day}, we can eat outside.",
  'The team lost its first game of the season in {month}.',
  "I'm not sure whether {name} has read the letter.",
  'The river floods every {month}, and the fields turn brown.',
  'She might have missed the bus on {day}.',
  'The children were playing in the garden until dark.',
  'Our neighbours have two dogs and a very old cat.',
  'The windows were open, so the room was cold by {day}.',
  'Two of the lamps in the hall are broken.',
  '{name} writes to her sister in {place} every {month}.',
  'The project was finished in {month}. Then we all took a week off.',
  '{name} lives in {place}. He works at a bakery there.',
  'I called {name} on {day}. She was already at the airport.',
  'The bus was late again. I walked to work instead.',
  'We moved to {place} in {month}. The flat is small but quiet.',
  'The meeting ended early. Everyone went home before six.',
];

/** `count` sentences filled from TEMPLATES at random (seeded); duplicates removed. */
export function everydaySentences(count: number, seed: number): string[] {
  const rand = seededRandom(seed);
  const fill: Record<string, readonly string[]> = { name: FIRST_NAMES, day: WEEKDAYS, month: MONTHS, place: PLACES, lang: LANGUAGES };
  const out = new Set<string>();
  for (let i = 0; i < count * 3 && out.size < count; i++) out.add(pick(TEMPLATES, rand).replace(/\{(\w+)\}/g, (_, slot: string) => pick(fill[slot], rand)));
  return [...out];
}

/**
 * Training sentences that share a run of `n` words with a held-out text (case and punctuation
 * ignored): a leak of the hand-written benchmark into training.
 */
export function heldOutOverlap(training: readonly string[], heldOut: readonly string[], n = 6): { sentence: string; shared: string }[] {
  const grams = (s: string) => {
    const w = s.toLowerCase().match(/[a-z0-9']+/g) ?? [];
    return w.length < n ? [w.join(' ')] : w.slice(0, w.length - n + 1).map((_, i) => w.slice(i, i + n).join(' '));
  };
  const held = new Set(heldOut.flatMap(grams));
  return training.flatMap((sentence) => {
    const shared = grams(sentence).find((g) => held.has(g));
    return shared === undefined ? [] : [{ sentence, shared }];
  });
}
