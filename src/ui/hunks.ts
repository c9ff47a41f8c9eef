// The review's units and checks, pure (no vscode import) so they are unit-tested on their own:
// - hunks: the changes a proposal makes to the original, each accepted or rejected on its own;
// - the text a set of per-hunk choices leaves in the document;
// - round groups: a round equal to the one before it is shown once ("rounds 2-3 identical");
// - flags: a proposal that deletes much of the text or changes far more than it keeps.
import { diffTokens, wordDiff } from './word-diff';

/** One change: `removed` (the original's text at [start, end)) becomes `added`. */
export interface Hunk {
  readonly index: number;
  /** Offsets in the original text. */
  readonly start: number;
  readonly end: number;
  readonly removed: string;
  readonly added: string;
  /** Offset of `added` in the proposal (where its lints are found). */
  readonly proposalStart: number;
}

export type HunkChoice = 'accepted' | 'rejected';

/**
 * The changes that turn `original` into `proposal`, word by word. Changes separated only by
 * whitespace are one hunk ("teh  quick" -> "The quick" is one decision, not three), so a hunk is
 * what a person reads as one edit.
 */
export function computeHunks(original: string, proposal: string): Hunk[] {
  const hunks: Hunk[] = [];
  let a = 0; // offset in original
  let b = 0; // offset in proposal
  let open: { start: number; proposalStart: number; removed: string; added: string } | undefined;
  let pendingSpace: string | undefined; // a whitespace-only 'same' run after an open hunk
  const close = () => {
    if (open) hunks.push({ index: hunks.length, start: open.start, end: open.start + open.removed.length, removed: open.removed, added: open.added, proposalStart: open.proposalStart });
    open = undefined;
  };
  for (const segment of wordDiff(original, proposal)) {
    if (segment.kind === 'same') {
      if (open && pendingSpace === undefined && /^\s+$/.test(segment.text)) pendingSpace = segment.text;
      else {
        if (pendingSpace !== undefined) pendingSpace = undefined;
        close();
      }
    } else {
      if (!open) open = { start: a, proposalStart: b, removed: '', added: '' };
      else if (pendingSpace !== undefined) {
        // The whitespace between two changes joins them: it is the same on both sides.
        open.removed += pendingSpace;
        open.added += pendingSpace;
        pendingSpace = undefined;
      }
      if (segment.kind === 'removed') open.removed += segment.text;
      else open.added += segment.text;
    }
    if (segment.kind !== 'added') a += segment.text.length;
    if (segment.kind !== 'removed') b += segment.text.length;
  }
  close();
  return hunks;
}

/**
 * The text left by per-hunk choices: accepted hunks take the proposal's text, rejected ones keep the
 * original's, and undecided ones follow `undecided`. Hunks never overlap, so each is replaced in place.
 */
export function composeText(original: string, hunks: readonly Hunk[], choices: ReadonlyMap<number, HunkChoice>, undecided: HunkChoice): string {
  let out = '';
  let at = 0;
  for (const hunk of hunks) {
    out += original.slice(at, hunk.start);
    out += (choices.get(hunk.index) ?? undecided) === 'accepted' ? hunk.added : hunk.removed;
    at = hunk.end;
  }
  return out + original.slice(at);
}

/** Rounds in a row with the same text, shown once. Indexes are 0-based. */
export interface RoundGroup {
  readonly first: number;
  readonly last: number;
}

export function roundGroups(rounds: readonly string[]): RoundGroup[] {
  const groups: RoundGroup[] = [];
  rounds.forEach((text, i) => {
    const last = groups[groups.length - 1];
    if (last && rounds[last.last] === text) groups[groups.length - 1] = { first: last.first, last: i };
    else groups.push({ first: i, last: i });
  });
  return groups;
}

/** The group a round belongs to. */
export function groupOf(groups: readonly RoundGroup[], round: number): number {
  return groups.findIndex((g) => g.first <= round && round <= g.last);
}

/** "Round 2 of 3" or "Rounds 2-3 of 3 (identical)", 1-based for people. */
export function groupLabel(group: RoundGroup, total: number): string {
  return group.first === group.last ? `Round ${group.first + 1} of ${total}` : `Rounds ${group.first + 1}-${group.last + 1} of ${total} (identical)`;
}

function words(text: string): string[] {
  return diffTokens(text).filter((t) => /[\p{L}\p{N}]/u.test(t));
}

/** Below this many words in the original the proportions say little ("teh" -> "The" is a 100% change). */
export const MIN_WORDS_TO_FLAG = 4;
/** A proposal that has this share fewer words than the original deleted much of it. */
export const DELETED_SHARE = 0.4;
/** A proposal that removes or replaces more than this many words per word it keeps rewrote it. */
export const CHANGED_PER_KEPT = 2;

export interface ChangeSize {
  readonly originalWords: number;
  readonly proposalWords: number;
  /** Words of the original the proposal keeps as they were. */
  readonly kept: number;
  /** Words of the original it removes or replaces. */
  readonly changed: number;
}

export function changeSize(original: string, proposal: string): ChangeSize {
  let kept = 0;
  let changed = 0;
  for (const segment of wordDiff(original, proposal)) {
    if (segment.kind === 'same') kept += words(segment.text).length;
    else if (segment.kind === 'removed') changed += words(segment.text).length;
  }
  return { originalWords: words(original).length, proposalWords: words(proposal).length, kept, changed };
}

/** One reason to look twice: a short title for the review's row, and the whole sentence for the question. */
export interface Flag {
  readonly title: string;
  readonly detail: string;
}

/**
 * Why a proposal needs a second look before it replaces the original; empty when it looks like an
 * ordinary edit. A truncated or garbled round (issue 19: a result 90% shorter than its input
 * looked the same as a good one) trips one of these.
 */
export function proposalFlags(original: string, proposal: string): Flag[] {
  const size = changeSize(original, proposal);
  if (size.originalWords < MIN_WORDS_TO_FLAG) return [];
  const flags: Flag[] = [];
  const deleted = (size.originalWords - size.proposalWords) / size.originalWords;
  if (deleted > DELETED_SHARE) {
    const share = Math.round(deleted * 100);
    flags.push({ title: `deletes ${share}% of the words`, detail: `It deletes ${share}% of the words (${size.originalWords} -> ${size.proposalWords}).` });
  }
  if (size.changed > CHANGED_PER_KEPT * size.kept) {
    flags.push({ title: `changes ${size.changed}, keeps ${size.kept} words`, detail: `It changes ${size.changed} of the ${size.originalWords} words and keeps ${size.kept}.` });
  }
  return flags;
}

/** A lint the proposal introduces, placed in the proposal's text. */
export interface PlacedLint {
  readonly start: number;
  readonly end: number;
  readonly message: string;
}

/** The hunk whose added text holds (or touches) a lint of the proposal; undefined when the lint lies in unchanged text. */
export function hunkOfLint(hunks: readonly Hunk[], lint: PlacedLint): Hunk | undefined {
  return hunks.find((h) => lint.start <= h.proposalStart + h.added.length && lint.end >= h.proposalStart);
}
