// What happens to an accepted refinement afterwards. The applied span is followed through edits
// until the next refinement starts, the document closes, the extension stops, or WATCH_MS pass;
// then the outcome is recorded: an edited text becomes 'accepted-edited' with the final text, and a
// text taken back to the original (undo) becomes 'rejected'. Untouched, the acceptance stands.
import * as vscode from 'vscode';
import type { Decision } from '../store';
import { decisionAfterEdits } from './editOutcome';
import { applySpanEdits, type TrackedSpan } from './rangeTracker';

const WATCH_MS = 5 * 60_000;

export interface AcceptedText {
  readonly sessionId: string;
  readonly uri: vscode.Uri;
  readonly span: TrackedSpan;
  readonly round: number;
  readonly accepted: string;
  readonly original: string;
}

interface Watch extends AcceptedText {
  span: TrackedSpan;
  current: string;
  timer: ReturnType<typeof setTimeout>;
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

  watch(accepted: AcceptedText): void {
    const timer = setTimeout(() => void this.finish(accepted.sessionId), WATCH_MS);
    this.watches.set(accepted.sessionId, { ...accepted, current: accepted.accepted, timer });
  }

  private onChange(event: vscode.TextDocumentChangeEvent): void {
    if (event.contentChanges.length === 0) return;
    for (const watch of this.watches.values()) {
      if (watch.uri.toString() !== event.document.uri.toString()) continue;
      watch.span = applySpanEdits(watch.span, spanEditsOf(event));
      // Kept on every change: the document may be closed by the time the watch ends.
      watch.current = event.document.getText(new vscode.Range(event.document.positionAt(watch.span.start), event.document.positionAt(watch.span.end)));
    }
  }

  /** Ends one watch and records what the user did with the accepted text. */
  async finish(sessionId: string): Promise<void> {
    const watch = this.watches.get(sessionId);
    if (!watch) return;
    this.watches.delete(sessionId);
    clearTimeout(watch.timer);
    const decision = decisionAfterEdits(watch, new Date());
    if (!decision) return;
    try {
      await this.record(sessionId, decision);
    } catch (error) {
      this.log.error(`could not record the edit after accepting session ${sessionId}: ${error instanceof Error ? error.message : String(error)}`);
    }
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
