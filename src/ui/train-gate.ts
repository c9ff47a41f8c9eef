// Whether Train has anything new to learn from. A run on the decisions the newest version already
// saw only makes a copy of it (v0002, v0003 on the same data), so Train waits for new decisions.
// Pure: the panel's button and the command both ask it.
import type { TrainingCounts } from './panel-protocol';

export function trainGate(c: Pick<TrainingCounts, 'newDecided' | 'since'>): { ready: boolean; note: string } {
  const n = c.newDecided;
  if (c.since === null) {
    return n === 0 ? { ready: false, note: 'Nothing to train on yet: accept or reject a few refinements first.' } : { ready: true, note: `${n} decision(s) to train on.` };
  }
  return n === 0
    ? { ready: false, note: `No new decisions since ${c.since}: accept or reject refinements first (a run on the same decisions would only copy ${c.since}).` }
    : { ready: true, note: `${n} new decision(s) since ${c.since}.` };
}
