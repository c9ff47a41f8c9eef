// The History tab's summary line. Pure, unit-tested.

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
