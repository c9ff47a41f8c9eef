// Whether a trained version may become the active one: only once it was evaluated. With no
// decision held out (3 decisions at the default held-out 0.2) and no judge, nothing measured the
// new adapter, so it is saved but left inactive, and the user is told why and how to use it.
// Light on purpose (no model code): the CLI and the extension both read it.
import type { VersionMeta } from './versions';

/** Why `meta`'s version was not activated, or null when it was evaluated (held-out accuracy or a judge's win rate). */
export function notActivatedReason(meta: Pick<VersionMeta, 'metrics'>): string | null {
  const { heldOutAccuracy, winRate } = meta.metrics;
  if (typeof heldOutAccuracy === 'number' || typeof winRate === 'number') return null;
  return 'no held-out pair to evaluate it on';
}

/** The whole sentence for the terminal and the editor. */
export function notActivatedMessage(version: string, out: string, reason: string): string {
  return `saved ${version} but not activated: ${reason}; activate it with \`slhf adapters --out ${out} --activate ${version}\` (or in the SLHF panel), or decide more pairs and train again`;
}
