// The review of a finished refinement: VS Code's diff editor shows the original against one round
// (virtual documents), and Accept, Reject, Previous/Next round and Retry act on it. Accept writes
// only into the document version the text was taken from; if the document changed meanwhile the
// user chooses: re-run, apply anyway, or discard. It never overwrites silently.
import { extname } from 'node:path';
import * as vscode from 'vscode';
import type { AcceptedEditWatcher } from './editWatch';
import { spanEditsOf } from './editWatch';
import type { HistoryService } from './history';
import { applySpanEdits, spanIntact, type TrackedSpan } from './rangeTracker';
import { REVIEW_SCHEME, type ReviewDocuments } from './reviewDocuments';

export type ConflictChoice = 'rerun' | 'apply' | 'discard';
export const CONFLICT_CHOICES: readonly ConflictChoice[] = ['rerun', 'apply', 'discard'];

export interface ReviewInput {
  readonly sessionId: string;
  readonly document: vscode.TextDocument;
  readonly range: vscode.Range;
  readonly version: number;
  /** The text in the document that the result replaces. */
  readonly original: string;
  /** The left side of the diff: the original (Refine) or the Leader's draft (Draft and Refine). */
  readonly baseline: string;
  readonly baselineLabel: string;
  readonly rounds: readonly string[];
  /** Runs the refinement again on the text now in the span. */
  readonly rerun: (document: vscode.TextDocument, range: vscode.Range) => Promise<ReviewOutcome>;
}

interface Review extends ReviewInput {
  readonly key: number;
  span: TrackedSpan;
  shown: number;
  baselineUri: vscode.Uri;
  roundUris: vscode.Uri[];
}

/** A snapshot of the review for the API and the tests. */
export interface ReviewState {
  readonly sessionId: string;
  readonly shown: number;
  readonly rounds: readonly string[];
  readonly documentUri: string;
}

export interface ReviewOutcome {
  readonly ok: boolean;
  readonly message: string;
}

export class ReviewController implements vscode.Disposable {
  private review: Review | undefined;
  private nextKey = 1;
  private readonly disposables: vscode.Disposable[];
  private readonly ended = new vscode.EventEmitter<void>();
  /** Fires when a review is decided or closed (not when a newer refinement replaces it). */
  readonly onDidEnd = this.ended.event;

  constructor(
    private readonly documents: ReviewDocuments,
    private readonly history: HistoryService,
    private readonly edits: AcceptedEditWatcher,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables = [vscode.workspace.onDidChangeTextDocument((event) => {
      const review = this.review;
      if (review && event.contentChanges.length > 0 && event.document.uri.toString() === review.document.uri.toString()) {
        review.span = applySpanEdits(review.span, spanEditsOf(event));
      }
    })];
  }

  state(): ReviewState | undefined {
    const r = this.review;
    return r && { sessionId: r.sessionId, shown: r.shown, rounds: r.rounds, documentUri: r.document.uri.toString() };
  }

  async open(input: ReviewInput): Promise<void> {
    await this.end(false);
    const key = this.nextKey++;
    const ext = extname(input.document.uri.path) || '.txt';
    const start = input.document.offsetAt(input.range.start);
    this.review = {
      ...input, key, shown: input.rounds.length - 1,
      span: { start, end: input.document.offsetAt(input.range.end), touched: false },
      baselineUri: this.documents.put(key, 'original', input.baseline, ext),
      roundUris: input.rounds.map((text, i) => this.documents.put(key, `round-${i + 1}`, text, ext)),
    };
    await this.show();
  }

  private async show(): Promise<void> {
    const r = this.review;
    if (!r) return;
    const n = r.rounds.length;
    await Promise.all([
      vscode.commands.executeCommand('setContext', 'slhf.reviewActive', true),
      vscode.commands.executeCommand('setContext', 'slhf.reviewHasPrevious', r.shown > 0),
      vscode.commands.executeCommand('setContext', 'slhf.reviewHasNext', r.shown < n - 1),
    ]);
    const title = `SLHF: ${r.baselineLabel} ↔ Round ${r.shown + 1} of ${n}`;
    const right = r.roundUris[r.shown];
    await vscode.commands.executeCommand('vscode.diff', r.baselineUri, right, title, { preview: false });
    await this.closeDiffTabs((modified) => modified.toString() !== right.toString());
  }

  private async closeDiffTabs(which: (modified: vscode.Uri) => boolean): Promise<void> {
    const tabs = vscode.window.tabGroups.all.flatMap((group) => group.tabs).filter((tab) =>
      tab.input instanceof vscode.TabInputTextDiff && tab.input.modified.scheme === REVIEW_SCHEME && which(tab.input.modified));
    if (tabs.length > 0) await vscode.window.tabGroups.close(tabs);
  }

  private async end(announce = true): Promise<void> {
    const r = this.review;
    this.review = undefined;
    await vscode.commands.executeCommand('setContext', 'slhf.reviewActive', false);
    if (!r) return;
    if (announce) this.ended.fire();
    await this.closeDiffTabs(() => true);
    this.documents.drop(r.key);
  }

  private noReview(): ReviewOutcome {
    const message = 'SLHF: No refinement is being reviewed. Select text and run "SLHF: Refine Selection" first.';
    void vscode.window.showInformationMessage(message);
    return { ok: false, message };
  }

  async step(delta: -1 | 1): Promise<ReviewOutcome> {
    const r = this.review;
    if (!r) return this.noReview();
    const next = r.shown + delta;
    if (next < 0 || next >= r.rounds.length) return { ok: false, message: `SLHF: There is no ${delta < 0 ? 'previous' : 'next'} round.` };
    r.shown = next;
    await this.show();
    return { ok: true, message: `Showing round ${next + 1} of ${r.rounds.length}.` };
  }

  private async askOnConflict(): Promise<ConflictChoice | undefined> {
    // The first button is the dialog's default (Enter): Discard changes nothing, unlike a re-run
    // (minutes of generation) or Apply Anyway (overwrites the edit).
    const labels: Record<string, ConflictChoice> = { Discard: 'discard', 'Re-run on the Current Text': 'rerun', 'Apply Anyway': 'apply' };
    const picked = await vscode.window.showWarningMessage(
      'SLHF: The text being refined changed after the refinement started.',
      { modal: true, detail: 'Discard drops this refinement and keeps your edit. Re-run refines the text as it is now. Apply Anyway replaces that text (your edit included) with the shown round.' },
      ...Object.keys(labels),
    );
    return picked === undefined ? undefined : labels[picked];
  }

  /** `conflict` answers the changed-document question in advance (the modal asks otherwise). */
  async accept(conflict?: ConflictChoice): Promise<ReviewOutcome> {
    const r = this.review;
    if (!r) return this.noReview();
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === r.document.uri.toString());
    if (!document || document.isClosed) {
      await this.end();
      const message = 'SLHF: The document was closed, so the refinement was not applied.';
      void vscode.window.showWarningMessage(message);
      return { ok: false, message };
    }
    const spanNow = new vscode.Range(document.positionAt(r.span.start), document.positionAt(r.span.end));
    // Only a change to the refined text itself needs a choice; edits elsewhere moved the span with them.
    if (document.version !== r.version && !spanIntact(r.span, document.getText(spanNow), r.original)) {
      const choice = conflict ?? (await this.askOnConflict());
      this.log.info(`accept: the document changed since the request (version ${r.version} -> ${document.version}); choice: ${choice ?? 'none'}`);
      if (choice === undefined) return { ok: false, message: 'SLHF: Nothing applied; the review is still open.' };
      if (choice === 'discard') {
        await this.end();
        return { ok: true, message: 'SLHF: Discarded the refinement; the document was not changed.' };
      }
      if (choice === 'rerun') {
        await this.end();
        const range = new vscode.Range(document.positionAt(r.span.start), document.positionAt(r.span.end));
        return r.rerun(document, range);
      }
    }
    const text = r.rounds[r.shown];
    const range = new vscode.Range(document.positionAt(r.span.start), document.positionAt(r.span.end));
    const edit = new vscode.WorkspaceEdit();
    edit.replace(document.uri, range, text);
    if (!(await vscode.workspace.applyEdit(edit))) {
      const message = 'SLHF: VS Code refused the edit (is the document read-only?). The review is still open.';
      void vscode.window.showErrorMessage(message);
      return { ok: false, message };
    }
    await this.end();
    const start = r.span.start;
    await this.edits.accept({
      sessionId: r.sessionId, uri: document.uri, span: { start, end: start + text.length, touched: false }, round: r.shown, accepted: text, original: r.original,
      acceptedAt: new Date().toISOString(),
    });
    const editor = await vscode.window.showTextDocument(document, { preview: false });
    editor.selection = new vscode.Selection(document.positionAt(start), document.positionAt(start + text.length));
    return { ok: true, message: `SLHF: Applied round ${r.shown + 1}. Undo (Ctrl+Z) reverts it and records that you kept your text.` };
  }

  async reject(): Promise<ReviewOutcome> {
    const r = this.review;
    if (!r) return this.noReview();
    await this.end();
    await this.history.decide(r.sessionId, { kind: 'rejected', decidedAt: new Date().toISOString() });
    await vscode.window.showTextDocument(r.document, { preview: false }).then(undefined, () => undefined);
    return { ok: true, message: 'SLHF: Kept your original text; the rejection was recorded.' };
  }

  /** Drops this review (its session stays undecided) and refines the same text again. */
  async retry(): Promise<ReviewOutcome> {
    const r = this.review;
    if (!r) return this.noReview();
    await this.end();
    const document = r.document.isClosed ? await vscode.workspace.openTextDocument(r.document.uri) : r.document;
    return r.rerun(document, new vscode.Range(document.positionAt(r.span.start), document.positionAt(r.span.end)));
  }

  /** Closes the review without a decision (its session stays undecided). */
  dismiss(): Promise<void> {
    return this.end();
  }

  async dispose(): Promise<void> {
    for (const disposable of this.disposables) disposable.dispose();
    await this.end(false);
    this.ended.dispose();
  }
}
