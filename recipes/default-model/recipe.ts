// What the embedded default refiner is: its shape, its prompt format and its training examples.
// The model sees only the text to refine: its chat template renders the draft (the last assistant
// turn; the user's turn when there is no draft, as for a Leader) followed by <|im_start|>, and it
// answers with the refined text and <|im_end|>. A model this small cannot follow instructions, so
// the template drops them rather than spend its context on them.
import { makeRefinementPairs, type RefinementPair } from '../../lab/corruption';
import { pickOne, seededRandom } from '../../src/base/seeded-random';
import type { SftExample } from '../../lab/sft';
import type { TinyModelShape } from '../../src/models/tiny-models/tiny-model';
import { promptIds } from '../../lab/follower-prompt';
import type { TextTokenizer } from '../../src/models/tokenizer';

export const DEFAULT_MODEL_SHAPE: TinyModelShape = { layers: 4, hidden: 128, heads: 4, kvHeads: 2, intermediate: 384 };

export const DEFAULT_MODEL_TEMPLATE =
  "{%- set ns = namespace(draft=none, user='') -%}" +
  "{%- for m in messages -%}" +
  "{%- if m.role == 'assistant' -%}{%- set ns.draft = m.content -%}" +
  "{%- elif m.role == 'user' and ns.draft is none -%}{%- set ns.user = m.content -%}{%- endif -%}" +
  '{%- endfor -%}' +
  '{{- ns.draft if ns.draft is not none else ns.user -}}' +
  "{%- if add_generation_prompt -%}{{- '<|im_start|>' -}}{%- endif -%}";

/** Corrupted (or clean) -> clean, as prompt and target token ids; the target ends with end-of-turn. */
export function sftExamples(tokenizer: TextTokenizer, pairs: readonly RefinementPair[], endOfTurn: number): SftExample[] {
  return pairs.map((p) => ({ prompt: promptIds(tokenizer, p.input), target: [...tokenizer.encode(p.target, { add_special_tokens: false }), endOfTurn] }));
}

/**
 * Sentences of random words from the corpus's vocabulary: a model this small memorizes 755
 * sentences long before it learns to copy, and text it has never seen forces it to copy.
 * `words: 'occurrences'` draws words at their corpus frequencies ("the" often, "flamenco" rarely);
 * `'types'` draws every distinct word equally often, so words the corpus has once get copied as
 * often as common ones.
 */
export function randomSentences(sentences: readonly string[], count: number, seed: number, words: WordDraw = 'occurrences'): string[] {
  const occurrences = sentences.flatMap((s) => s.toLowerCase().match(/[a-z]+(?:'[a-z]+)?/g) ?? []);
  const vocabulary = words === 'types' ? [...new Set(occurrences)].sort() : occurrences;
  const rand = seededRandom(seed);
  const pick = <T>(items: readonly T[]) => pickOne(items, rand);
  return Array.from({ length: count }, () => {
    const words = Array.from({ length: 3 + Math.floor(rand() * 10) }, () => pick(vocabulary).replace(/^i('|$)/, "I$1"));
    if (words.length > 4 && rand() < 0.3) words[Math.floor(rand() * (words.length - 2)) + 1] += ',';
    const text = words.join(' ');
    return text[0].toUpperCase() + text.slice(1) + pick(['.', '.', '.', '!', '?']);
  });
}

export type WordDraw = 'occurrences' | 'types';

/**
 * `rounds` independent corruptions (a fresh draw per round) of every corpus sentence and of as many
 * fresh random-word sentences (words drawn as `words` says), each with 1 to `maxCorruptions` corruptions.
 */
export function trainingPairs(sentences: readonly string[], rounds: number, seed: number, maxCorruptions = 2, cleanRate = 0.2, words: WordDraw = 'occurrences'): RefinementPair[] {
  return Array.from({ length: rounds }, (_, r) => {
    const text = [...sentences, ...randomSentences(sentences, sentences.length, seed * 1000 + r, words)];
    return makeRefinementPairs(text, { seed: seed * 1000 + r, cleanRate, maxCorruptions });
  }).flat();
}
