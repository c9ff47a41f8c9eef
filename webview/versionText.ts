// How the panel describes a trained version. Pure, unit-tested.
import type { VersionSummary } from '../src/ui/panelProtocol';

/**
 * Below this many held-out decisions an accuracy says nothing (1 of 1 reads "1.000"), so none is shown.
 * A decision gives the held-out set one Follower sample per round, so this is the decision count.
 */
export const MIN_HELD_OUT_DECISIONS = 5;

export function heldOutAccuracyText(v: Pick<VersionSummary, 'heldOutAccuracy' | 'heldOutDecisions'>): string {
  if (v.heldOutAccuracy === null) return 'held-out accuracy not measured';
  if (v.heldOutDecisions < MIN_HELD_OUT_DECISIONS) {
    return `held-out accuracy not shown: ${v.heldOutDecisions} held-out decision(s), at least ${MIN_HELD_OUT_DECISIONS} are needed`;
  }
  return `held-out accuracy ${v.heldOutAccuracy.toFixed(2)} on ${v.heldOutDecisions} held-out decisions`;
}

/** One version's line in the Training tab's list. */
export function versionLine(v: VersionSummary, active: boolean): string {
  const origin = v.imported ?? `${v.decisions} decisions (${v.samples} game samples), ${heldOutAccuracyText(v)}`;
  return `${v.version}${active ? ' (active)' : ''}: ${new Date(v.createdAt).toLocaleString()}, ${origin}`;
}
