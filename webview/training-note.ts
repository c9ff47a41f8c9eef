// The line under the Training tab's chart: what the chart shows, or why it is empty. Pure, unit-tested.

/** Where the chart stands: no run from this panel yet, a run waiting for its first step, steps drawn, or a run that ended with none. */
export type ChartRun =
  | { readonly kind: 'none'; readonly versions: number }
  | { readonly kind: 'waiting' }
  | { readonly kind: 'steps'; readonly steps: number }
  | { readonly kind: 'ended-early' };

export function chartNote(run: ChartRun): string {
  switch (run.kind) {
    case 'none':
      return run.versions > 0
        ? `No training run in this window yet; the ${run.versions} version(s) below were trained earlier. Loss, KL and judge score per step appear here during the next run.`
        : 'No training run yet. Loss, KL and judge score per step appear here while the Follower trains.';
    case 'waiting':
      return 'Training: waiting for the first step…';
    case 'steps':
      return `${run.steps} step(s).`;
    case 'ended-early':
      return 'The run ended before its first step (the line below says why); nothing to draw.';
  }
}

/** The run started from the panel has ended (its outcome arrived): a run still waiting ended before its first step. */
export function runEnded(run: ChartRun): ChartRun {
  return run.kind === 'waiting' ? { kind: 'ended-early' } : run;
}
