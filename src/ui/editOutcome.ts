// What an accepted refinement became, as a store decision. Pure, unit-tested.
import type { Decision } from '../store';
import type { TrackedSpan } from './rangeTracker';

export interface EditedAcceptance {
  /** The accepted round's index. */
  readonly round: number;
  readonly accepted: string;
  /** The text the refinement replaced. */
  readonly original: string;
  readonly span: TrackedSpan;
  /** The span's text now. */
  readonly current: string;
}

/**
 * The decision to record, or undefined when the acceptance stands. Edited text is
 * 'accepted-edited' with the final text; text taken back to the original (an undo) is 'rejected':
 * the user went back to their own version.
 */
export function decisionAfterEdits(watch: EditedAcceptance, now: Date): Decision | undefined {
  if (!watch.span.touched || watch.current === watch.accepted) return undefined;
  if (watch.current === watch.original) return { kind: 'rejected', decidedAt: now.toISOString() };
  return { kind: 'accepted-edited', round: watch.round, finalText: watch.current, decidedAt: now.toISOString() };
}
