// How a trained version's evaluation is put into words: in the Training tab's list and in the offer to
// activate a new version after its run. Pure (no vscode import): the webview bundle shares it.

/**
 * Below this many held-out decisions an accuracy says nothing, so none is shown: with 4 decisions
 * one decision moves it by 0.25 ("1.000" from 1 or 2 held-out decisions was what users saw), and
 * a 1-in-5 flip (0.2) is about the smallest step still worth reading as a difference. A decision
 * gives the held-out set one Follower sample per round, so this counts decisions, not samples.
 */
export const MIN_HELD_OUT_DECISIONS = 5;

export interface Evaluation {
  readonly heldOutAccuracy: number | null;
  readonly heldOutDecisions: number;
}

export function heldOutAccuracyText(v: Evaluation): string {
  if (v.heldOutAccuracy === null) return 'held-out accuracy not measured';
  if (v.heldOutDecisions < MIN_HELD_OUT_DECISIONS) {
    return `held-out accuracy not shown: ${v.heldOutDecisions} held-out decision(s), at least ${MIN_HELD_OUT_DECISIONS} are needed`;
  }
  return `held-out accuracy ${v.heldOutAccuracy.toFixed(2)} on ${v.heldOutDecisions} held-out decisions`;
}

export interface ActivationOffer {
  /** The sentence the notification shows. */
  readonly text: string;
  readonly activate: string;
  readonly keep: string;
}

/**
 * The offer after a run. The comparison is the untrained model on the same held-out decisions
 * (each run starts a fresh adapter on the base model, and measures that first): the active
 * version's own figure was measured on other held-out decisions, so setting the two side by side
 * would compare different tests.
 */
export function activationOffer(version: string, run: Evaluation & { trainDecisions: number; accuracyBefore: number | null }, active: string | null): ActivationOffer {
  const measured = heldOutAccuracyText(run);
  const shown = run.heldOutAccuracy !== null && run.heldOutDecisions >= MIN_HELD_OUT_DECISIONS;
  const before = shown && run.accuracyBefore !== null ? ` (the untrained model: ${run.accuracyBefore.toFixed(2)} on the same decisions)` : '';
  const evaluation = run.heldOutAccuracy === null ? 'no decision was held out to evaluate it' : `${measured}${before}`;
  return {
    text: `${version} trained on ${run.trainDecisions} decisions: ${evaluation}. Activate it?`,
    activate: `Activate ${version}`,
    keep: active ? `Keep ${active}` : 'Keep the Base Model',
  };
}
