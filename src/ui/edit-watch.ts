// What happens to an accepted refinement afterwards. The applied span is followed through edits
// until the next refinement starts, the document closes, the extension stops, or WATCH_MS pass.
// An undo back to the original text is an explicit change of decision, recorded the moment it
// happens (and a redo restores the acceptance); an edited text becomes 'accepted-edited' with the
// final text when the watch ends (edit-outcome.ts decides which).
import * as vscode from 'vscode';
import type { Decision } from '../store/schema';
import { acceptedDecision, decisionAfterEdits, decisionOnChange, type RecordedAcceptance } from './edit-outcome';
import { applySpanEdits, type TrackedSpan } from './range-tracker';

const WATCH_MS = 5 * 60_000;

/** Told to the user when an undo changes the decision, so that undo is never a silent training signal. */
export const UNDO_MESSAGE = 'SLHF: Undo took the refinement back, so it is now recorded as "kept my text": training counts it like Reject. Redo restores the acceptance.';
export const REDO_MESSAGE = 'SLHF: Redo applied the refinement again; it is recorded as accepted once more.';

export interface AcceptedText {
  readonly sessionId: string;
  readonly uri: vscode.Uri;
  readonly span: TrackedSpan;
  readonly round: number;
  /** The text Accept applied. */
  readonly accepted: string;
  /** The round's own text, when Accept applied an edited proposal or some of its hunks. */
  readonly roundText?: string;
  readonly original: string;
  /** When the user accepted (ISO 8601); a redo restores this decision. */
  readonly acceptedAt: string;
}

interface Watch extends AcceptedText {
  span: TrackedSpan;
  current: string;
  recorded: RecordedAcceptance;
  timer: ReturnType<typeof setTimeout>;
  /** Decisions are written in the order the changes happened (an undo then a quick redo). */
  writes: Promise<void>;
}

export function spanEditsOf(event: vscode.TextDocumentChangeEvent) {
  return event.contentChanges.map((c) => ({ offset: c.rangeOffset, length: c.rangeLength, newLength: c.text.length }));
}

export class AcceptedEditWatcher implements vscode.Disposable {
  private readonly watches = new Map<string, Watch>();
  private readonly disposables: vscode.Disposable[];

  constructor(private readonly record: (sessionId: string, decision: Decision) => Promise<void>, private readonly log: vscode.LogOutputChannel) {
    this.disposables = [
      vscode.workspace.onDidChangeTextDocument((event) => this.onChange(event)),
      vscode.workspace.onDidCloseTextDocument((document) => {
        for (const watch of [...this.watches.values()]) if (watch.uri.toString() === document.uri.toString()) void this.finish(watch.sessionId);
      }),
    ];
  }

  /**
   * Records the acceptance and starts watching it. The acceptance goes through the same queue as
   * what follows, so an undo right after Accept can never be overwritten by the acceptance.
   */
  accept(accepted: AcceptedText): Promise<void> {
    const timer = setTimeout(() => void this.finish(accepted.sessionId), WATCH_MS);
    const watch: Watch = { ...accepted, current: accepted.accepted, recorded: 'stands', timer, writes: Promise.resolve() };
    this.watches.set(accepted.sessionId, watch);
    this.write(watch, acceptedDecision(accepted));
    return watch.writes;
  }

  private onChange(event: vscode.TextDocumentChangeEvent): void {
    if (event.contentChanges.length === 0) return;
    for (const watch of this.watches.values()) {
      if (watch.uri.toString() !== event.document.uri.toString()) continue;
      watch.span = applySpanEdits(watch.span, spanEditsOf(event));
      // Kept on every change: the document may be closed by the time the watch ends.
      watch.current = event.document.getText(new vscode.Range(event.document.positionAt(watch.span.start), event.document.positionAt(watch.span.end)));
      const change = decisionOnChange(watch, watch.recorded, new Date());
      if (!change) continue;
      watch.recorded = change.recorded;
      this.write(watch, change.decision);
      void vscode.window.showInformationMessage(change.recorded === 'undone' ? UNDO_MESSAGE : REDO_MESSAGE, 'Show History').then((picked) => {
        if (picked) void vscode.commands.executeCommand('slhf.showHistory');
      });
    }
  }

  private write(watch: Watch, decision: Decision): void {
    watch.writes = watch.writes.then(() => this.record(watch.sessionId, decision)).catch((error: unknown) => {
      this.log.error(`could not record the ${decision.kind} decision of session ${watch.sessionId}: ${error instanceof Error ? error.message : String(error)}`);
    });
  }

  /** Ends one watch and records what the user did with the accepted text. */
  async finish(sessionId: string): Promise<void> {
    const watch = this.watches.get(sessionId);
    if (!watch) return;
    this.watches.delete(sessionId);
    clearTimeout(watch.timer);
    const decision = decisionAfterEdits(watch, watch.recorded, new Date());
    if (decision) this.write(watch, decision);
    await watch.writes;
  }

  /** Ends every watch (before a new refinement, and when the extension stops). */
  async finishAll(): Promise<void> {
    await Promise.all([...this.watches.keys()].map((id) => this.finish(id)));
  }

  dispose(): void {
    for (const watch of this.watches.values()) clearTimeout(watch.timer);
    for (const disposable of this.disposables) disposable.dispose();
  }
}
