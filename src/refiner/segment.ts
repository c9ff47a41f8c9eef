// Splits a text into the sentences a sentence-level model refines one at a time, keeping every
// character between them, so that joining the refined sentences with the original gaps gives the
// whole text back (no paragraph is truncated). Also the guard that keeps a garbled sentence out.
//
// Not Intl.Segmenter: ICU's sentence rules do not break before a lowercase word ("mat. the dog"
// stays one sentence), and a lowercase sentence start is exactly an error the refiner must fix.

/** Text between sentences (whitespace, newlines) is kept as is; sentences are refined. */
export interface Piece {
  text: string;
  refine: boolean;
}

/** A sentence longer than this (characters) is split further at clause or word boundaries. */
export const MAX_SENTENCE_CHARS = 240;

// Words whose full stop does not end a sentence.
const ABBREVIATIONS = new Set(['mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'vs', 'etc', 'e.g', 'i.e', 'cf', 'no', 'fig', 'approx', 'inc', 'ltd', 'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec']);

/** Where sentences end inside one line: after . ! ? (and closing quotes or brackets) and whitespace. */
function sentenceEnds(line: string): number[] {
  const ends: number[] = [];
  const re = /[.!?]+['")\]’”]*(?=\s+\S)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    const word = /([\p{L}.]+)[.!?]*['")\]’”]*$/u.exec(line.slice(0, m.index + m[0].length))?.[1]?.replace(/\.$/, '').toLowerCase() ?? '';
    if (m[0].startsWith('.') && (ABBREVIATIONS.has(word) || /^\p{L}$/u.test(word))) continue; // "Dr. Smith", "J. Smith"
    ends.push(m.index + m[0].length);
  }
  return ends;
}

/** Splits an over-long sentence at ", " / "; " where it can, else at spaces, into parts of at most `max` characters. */
function splitLong(sentence: string, max: number): string[] {
  const parts: string[] = [];
  let rest = sentence;
  while (rest.length > max) {
    const head = rest.slice(0, max);
    const cut = Math.max(head.lastIndexOf(', '), head.lastIndexOf('; ')) + 1 || head.lastIndexOf(' ');
    if (cut <= 0) break; // one huge word: left whole
    parts.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  parts.push(rest);
  return parts;
}

/**
 * The text as pieces whose concatenation is the text exactly: sentences (refine: true) and the
 * whitespace around and between them (refine: false). Lines are split first, so newlines are kept.
 */
export function splitSentences(text: string, maxChars = MAX_SENTENCE_CHARS): Piece[] {
  const pieces: Piece[] = [];
  const gap = (s: string) => {
    if (!s) return;
    const last = pieces[pieces.length - 1];
    if (last && !last.refine) last.text += s;
    else pieces.push({ text: s, refine: false });
  };
  const sentence = (s: string) => {
    for (const part of splitLong(s, maxChars)) {
      const lead = /^\s*/.exec(part)![0];
      const body = part.slice(lead.length).trimEnd();
      gap(lead);
      if (body) pieces.push({ text: body, refine: true });
      gap(part.slice(lead.length + body.length));
    }
  };
  for (const line of text.split(/(\r?\n)/)) {
    if (line === '\n' || line === '\r\n') { gap(line); continue; }
    let start = 0;
    for (const end of sentenceEnds(line)) {
      sentence(line.slice(start, end));
      start = end;
    }
    sentence(line.slice(start));
  }
  return pieces;
}

export const joinPieces = (pieces: readonly Piece[]): string => pieces.map((p) => p.text).join('');

const wordCount = (s: string) => s.split(/\s+/).filter(Boolean).length;

/**
 * Whether a refined sentence is garbled rather than refined: it lost more than half of its input's
 * words, or more than doubled them. Fixes change a word or two (a doubled word removed), never half.
 */
export function isGarbled(input: string, output: string): boolean {
  const before = wordCount(input);
  const after = wordCount(output);
  return after * 2 < before || after > 2 * before + 1;
}

/**
 * Undoes the full stop a sentence-level model adds to a line that is not a sentence: a line of a
 * multi-line text without final punctuation ("Dear Maria,", "Best wishes,", a heading, a
 * signature) keeps its ending. Also never ", ." : a full stop after a comma, semicolon or colon.
 */
export function keepLineEnding(input: string, output: string, lineOfSeveral: boolean): string {
  const inputEnd = /[.!?]['")\]’”]*$/.test(input);
  if (!inputEnd && /[,;:]$/.test(input) && /[,;:]\.$/.test(output)) return output.slice(0, -1);
  if (!inputEnd && lineOfSeveral && /[^.]\.$/.test(output)) return output.slice(0, -1);
  return output;
}

/** A stretch of a text, [start, end) in UTF-16 code units. */
export interface Span {
  start: number;
  end: number;
}

/** The span without the whitespace at its ends; null when it is all whitespace. */
function trimmed(text: string, start: number, end: number): Span | null {
  while (start < end && /\s/.test(text[start])) start++;
  while (end > start && /\s/.test(text[end - 1])) end--;
  return start < end ? { start, end } : null;
}

/** The paragraphs of a text: the stretches between blank lines, without their outer whitespace. */
export function paragraphSpans(text: string): Span[] {
  const spans: Span[] = [];
  let start = 0;
  for (const m of text.matchAll(/\n[ \t]*\r?\n/g)) {
    const span = trimmed(text, start, m.index);
    if (span) spans.push(span);
    start = m.index + m[0].length;
  }
  const last = trimmed(text, start, text.length);
  if (last) spans.push(last);
  return spans;
}

/**
 * The sentences of `span` by Intl.Segmenter (ICU's rules, which also break at line ends), without
 * their outer whitespace. Used to split a paragraph too long for a model; unlike splitSentences it
 * keeps "mat. the dog" together, which only costs a longer piece, never a lost character.
 */
export function sentenceSpans(text: string, span: Span, locale = 'en'): Span[] {
  const spans: Span[] = [];
  const segmenter = new Intl.Segmenter(locale, { granularity: 'sentence' });
  for (const s of segmenter.segment(text.slice(span.start, span.end))) {
    const t = trimmed(text, span.start + s.index, span.start + s.index + s.segment.length);
    if (t) spans.push(t);
  }
  return spans;
}

/**
 * The text as pieces (see Piece) whose concatenation is the text exactly: `spans` (in order, not
 * overlapping) are refined, everything around them is kept as is.
 */
export function piecesFromSpans(text: string, spans: readonly Span[]): Piece[] {
  const pieces: Piece[] = [];
  let at = 0;
  for (const { start, end } of spans) {
    if (start > at) pieces.push({ text: text.slice(at, start), refine: false });
    pieces.push({ text: text.slice(start, end), refine: true });
    at = end;
  }
  if (at < text.length) pieces.push({ text: text.slice(at), refine: false });
  return pieces;
}
