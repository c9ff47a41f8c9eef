// The History tab's summary line and round list. Pure, unit-tested.
import { groupLabel, roundGroups } from '../src/ui/hunks';
import type { SessionSummary } from '../src/ui/panel-protocol';

/**
 * What the list shows: the count (and the page), "no match" for a search or filter that found
 * nothing, and the first-run hint only when nothing is recorded at all.
 */
export function historySummary(total: number, shown: number, query: { text: string; filter: string | null }): string {
  if (total > 0) return `${total} refinement(s)${total > shown ? `, showing the newest ${shown}` : ''}.`;
  const what = [query.text ? `"${query.text}"` : '', query.filter ? `decision: ${query.filter}` : ''].filter(Boolean).join(', ');
  if (what) return `No match for ${what}.`;
  return 'No refinements recorded yet. Select text and run "SLHF: Refine Selection".';
}

/** One entry of a session's round list: identical rounds in a row are one entry, as in the review. */
export interface HistoryRound {
  readonly label: string;
  readonly text: string;
  readonly chosen: boolean;
}

/** The session's rounds as the History tab lists them; the chosen round's entry says so. */
export function historyRounds(session: Pick<SessionSummary, 'rounds' | 'round' | 'decision'>): HistoryRound[] {
  return roundGroups(session.rounds).map((group) => {
    const chosen = session.round !== undefined && group.first <= session.round && session.round <= group.last;
    const mark = !chosen ? '' : session.decision === 'undone' ? ' (accepted, then undone)' : ' (chosen)';
    return { label: `${groupLabel(group, session.rounds.length)}${mark}`, text: session.rounds[group.first], chosen };
  });
}
