// How the panel describes a trained version. Pure, unit-tested.
import type { VersionSummary } from '../src/ui/panel-protocol';
import { heldOutAccuracyText } from '../src/ui/held-out-text';

export { heldOutAccuracyText, MIN_HELD_OUT_DECISIONS } from '../src/ui/held-out-text';

/** One version's line in the Training tab's list. */
export function versionLine(v: VersionSummary, active: boolean): string {
  const origin = v.imported ?? `${v.decisions} decisions (${v.samples} game samples), ${heldOutAccuracyText(v)}`;
  return `${v.version}${active ? ' (active)' : ''}: ${new Date(v.createdAt).toLocaleString()}, ${origin}`;
}
