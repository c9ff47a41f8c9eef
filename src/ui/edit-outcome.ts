// What an accepted refinement became, as store decisions. Pure, unit-tested.
//
// Accept applies the round, or what the user kept of it (an edited proposal, or only some of its
// hunks): the latter is 'accepted-edited' from the start, with the applied text as its final text.
//
// An undo (the span's text back to the user's original) changes the decision at once: the user
// took the refinement back, which for training means "kept my text". A redo (the accepted text
// back) restores the acceptance, also at once. Other edits are only read when the watch ends, so
// that half-typed text is never recorded.
import type { Decision } from '../store/schema';
import type { TrackedSpan } from './range-tracker';

export interface EditedAcceptance {
  /** The accepted round's index. */
  readonly round: number;
  /** The text Accept applied: the round, or what the user kept of it (edited, or some hunks only). */
  readonly accepted: string;
  /** The round's own text, when Accept applied something else. */
  readonly roundText?: string;
  /** The text the refinement replaced. */
  readonly original: string;
  readonly span: TrackedSpan;
  /** The span's text now. */
  readonly current: string;
  /** When the user accepted (ISO 8601): a redo restores this decision, and an undo records it. */
  readonly acceptedAt: string;
}

/** What the store says about the acceptance: it stands (possibly edited later) or it was undone. */
export type RecordedAcceptance = 'stands' | 'undone';

/** The span's text compared with what the user saw: the accepted round, the original, or other text. */
export function acceptanceState(watch: EditedAcceptance): 'stands' | 'undone' | 'edited' {
  if (!watch.span.touched || watch.current === watch.accepted) return 'stands';
  return watch.current === watch.original ? 'undone' : 'edited';
}

/**
 * What Accept records: the round as it was ('accepted'), or what the user kept of it, an edited
 * proposal or a per-hunk choice ('accepted-edited' with the applied text as the final text).
 */
export function acceptedDecision(watch: Pick<EditedAcceptance, 'round' | 'accepted' | 'roundText' | 'acceptedAt'>): Decision {
  return watch.roundText === undefined || watch.roundText === watch.accepted
    ? { kind: 'accepted', round: watch.round, decidedAt: watch.acceptedAt }
    : { kind: 'accepted-edited', round: watch.round, finalText: watch.accepted, decidedAt: watch.acceptedAt };
}

/** The decision an undo records: the user took back the round they had accepted and kept their text. */
export function undoDecision(watch: EditedAcceptance, now: Date): Decision {
  return { kind: 'undone', round: watch.round, acceptedAt: watch.acceptedAt, decidedAt: now.toISOString() };
}

/** The decision to record right away after a change, with the new recorded state; undefined when nothing changes in the store. */
export function decisionOnChange(watch: EditedAcceptance, recorded: RecordedAcceptance, now: Date): { decision: Decision; recorded: RecordedAcceptance } | undefined {
  const state = acceptanceState(watch);
  if (state === 'undone' && recorded === 'stands') return { decision: undoDecision(watch, now), recorded: 'undone' };
  if (state === 'stands' && recorded === 'undone') return { decision: acceptedDecision(watch), recorded: 'stands' };
  return undefined;
}

/**
 * The decision to record when the watch ends, or undefined when the store already says it: an
 * untouched (or restored) acceptance stands, and an undo was recorded when it happened. Text that
 * was edited after an acceptance that still stands is 'accepted-edited' with the final text. Once
 * undone, later typing edits the user's own text, not the refinement, so the undo stands.
 */
export function decisionAfterEdits(watch: EditedAcceptance, recorded: RecordedAcceptance, now: Date): Decision | undefined {
  if (recorded === 'undone') return undefined;
  const state = acceptanceState(watch);
  if (state === 'stands') return undefined;
  if (state === 'undone') return undoDecision(watch, now);
  return { kind: 'accepted-edited', round: watch.round, finalText: watch.current, decidedAt: now.toISOString() };
}
