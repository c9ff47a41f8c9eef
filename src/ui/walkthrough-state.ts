// The walkthrough's steps tick when their thing is done, not when a button was clicked: each step's
// completionEvents (package.json) is an `onContext:` key set here from what actually happened.
//   slhf.walkthrough.refined   a refinement produced rounds (or the store already holds one)
//   slhf.walkthrough.decided   a refinement was accepted or rejected
//   slhf.walkthrough.realModel the Follower in force is not the built-in demo model
//   slhf.walkthrough.trained   a trained adapter version exists
// VS Code remembers a ticked step, so keys only ever need to turn on.
import * as vscode from 'vscode';

export type WalkthroughKey = 'refined' | 'decided' | 'realModel' | 'trained';

export class WalkthroughState {
  private readonly set = new Set<WalkthroughKey>();

  /** Sets `key` when `done` (each key once). */
  mark(key: WalkthroughKey, done = true): void {
    if (!done || this.set.has(key)) return;
    this.set.add(key);
    void vscode.commands.executeCommand('setContext', `slhf.walkthrough.${key}`, true);
  }

  /** From the store's counts: sessions recorded, and how many were decided. */
  markStore(stats: { sessions: number; decided: number }): void {
    this.mark('refined', stats.sessions > 0);
    this.mark('decided', stats.decided > 0);
  }
}
