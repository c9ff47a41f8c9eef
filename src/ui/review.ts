// The review of a finished refinement, in two views of one state: inline in the source editor
// (inline-review.ts: each change struck through / added in place, Accept and Reject per change and
// for the round) and VS Code's diff editor beside it (the original against the shown round, whose
// side is editable). Accept, Reject, Previous/Next round and Retry act on it.
// - Per-change choices are applied together, in one edit, when every change is decided (or on
//   Accept/Reject of the rest): what the document then holds is what is recorded, 'accepted-edited'
//   unless it is the whole round ('accepted') or nothing of it ('rejected'). An edited proposal is
//   recorded the same way.
// - Rounds equal to the one before are one entry ("Rounds 2-3 (identical)").
// - A proposal that deletes much of the text, rewrites far more than it keeps, or brings new Harper
//   lints (inline-guard.ts) is flagged, and Accept asks first (the safe button is the default).
// Accept writes only into the document version the text was taken from; if the refined text
// changed meanwhile the user chooses: re-run, apply anyway, or discard. It never overwrites silently.
import { extname } from 'node:path';
import * as vscode from 'vscode';
import type { AcceptedEditWatcher } from './edit-watch';
import { spanEditsOf } from './edit-watch';
import type { HistoryService } from './history';
import { composeText, computeHunks, groupLabel, groupOf, hunkOfLint, proposalFlags, roundGroups, type Hunk, type HunkChoice, type Flag, type PlacedLint, type RoundGroup } from './hunks';
import type { HarperGuard } from './inline-guard';
import type { InlineReview } from './inline-review';
import { applySpanEdits, spanIntact, type TrackedSpan } from './range-tracker';
import { REVIEW_SCHEME, type ReviewDocuments } from './review-documents';
import { readConfirmFlagged, readSideBySide } from './slhf-settings';

export type ConflictChoice = 'rerun' | 'apply' | 'discard';
/** The answer to "this round is flagged, apply it anyway?", given in advance. */
export type FlaggedChoice = 'apply' | 'keep-reviewing';
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
  /** The round shown: the first of its group of identical rounds. */
  shown: number;
  readonly groups: readonly RoundGroup[];
  baselineUri: vscode.Uri;
  roundUris: vscode.Uri[];
  /** Each round's proposal as the user left it in the diff (edited or not). */
  proposals: string[];
  /** The shown proposal's changes to the original, and the user's choice for each. */
  hunks: Hunk[];
  choices: Map<number, HunkChoice>;
  /** New Harper lints of the shown proposal; undefined until the guard has run on it. */
  lints: PlacedLint[] | undefined;
}

/** A snapshot of the review for the API and the tests. */
export interface ReviewState {
  readonly sessionId: string;
  readonly shown: number;
  readonly rounds: readonly string[];
  readonly documentUri: string;
  /** The shown proposal (the round, or the user's edit of it). */
  readonly proposal: string;
  readonly hunks: readonly { readonly removed: string; readonly added: string; readonly choice?: HunkChoice }[];
  /** Why Accept would ask first (flags and new lints). */
  readonly warnings: readonly string[];
  /** 'rounds 2-3 identical' style labels of the round list, one per distinct round. */
  readonly roundList: readonly string[];
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
  private lintTimer: ReturnType<typeof setTimeout> | undefined;
  /** Fires when a review is decided or closed (not when a newer refinement replaces it). */
  readonly onDidEnd = this.ended.event;

  constructor(
    private readonly documents: ReviewDocuments,
    private readonly history: HistoryService,
    private readonly edits: AcceptedEditWatcher,
    private readonly log: vscode.LogOutputChannel,
    private readonly inline: InlineReview,
    private readonly guard: HarperGuard,
  ) {
    this.disposables = [
      vscode.workspace.onDidChangeTextDocument((event) => {
        const review = this.review;
        if (!review || event.contentChanges.length === 0) return;
        const uri = event.document.uri.toString();
        if (uri === review.document.uri.toString()) {
          review.span = applySpanEdits(review.span, spanEditsOf(event));
          this.refresh();
        } else {
          // The user edits a proposal in the diff: the inline view follows it.
          const round = review.roundUris.findIndex((u) => u.toString() === uri);
          if (round >= 0) this.setProposal(review, round, event.document.getText());
        }
      }),
      this.guard.onDidLoad(() => this.checkLints()),
    ];
  }

  state(): ReviewState | undefined {
    const r = this.review;
    return r && {
      sessionId: r.sessionId, shown: r.shown, rounds: r.rounds, documentUri: r.document.uri.toString(), proposal: r.proposals[r.shown],
      hunks: r.hunks.map((h) => ({ removed: h.removed, added: h.added, choice: r.choices.get(h.index) })),
      warnings: this.warnings(r, r.proposals[r.shown]).map((w) => w.detail), roundList: r.groups.map((g) => groupLabel(g, r.rounds.length)),
    };
  }

  async open(input: ReviewInput): Promise<void> {
    await this.end(false);
    this.guard.start();
    const key = this.nextKey++;
    const ext = extname(input.document.uri.path) || '.txt';
    const start = input.document.offsetAt(input.range.start);
    const groups = roundGroups(input.rounds);
    const review: Review = {
      ...input, key, groups, shown: groups[groups.length - 1]?.first ?? 0,
      span: { start, end: input.document.offsetAt(input.range.end), touched: false },
      baselineUri: this.documents.put(key, 'original', input.baseline, ext),
      roundUris: input.rounds.map((text, i) => this.documents.put(key, `round-${i + 1}`, text, ext, { writable: true })),
      proposals: [...input.rounds], hunks: [], choices: new Map(), lints: undefined,
    };
    this.review = review;
    this.resetHunks(review);
    await this.show();
  }

  /** The shown proposal's hunks from scratch (a new round, or an edit of it): earlier choices do not fit them. */
  private resetHunks(r: Review): void {
    r.hunks = computeHunks(r.original, r.proposals[r.shown]);
    r.choices = new Map();
    r.lints = undefined;
    this.checkLints();
  }

  private setProposal(r: Review, round: number, text: string): void {
    if (r.proposals[round] === text) return;
    r.proposals[round] = text;
    if (round !== r.shown) return;
    this.resetHunks(r);
    this.refresh();
  }

  /** Runs the Harper guard on the shown proposal (debounced: the user may be typing in it). */
  private checkLints(): void {
    clearTimeout(this.lintTimer);
    this.lintTimer = setTimeout(() => {
      const r = this.review;
      if (!r) return;
      const proposal = r.proposals[r.shown];
      const pending = this.guard.newLints(r.baseline, proposal);
      if (!pending) return;
      void pending.then((lints) => {
        if (this.review !== r || r.proposals[r.shown] !== proposal) return;
        r.lints = lints;
        this.refresh();
      });
    }, 150);
  }

  /** Why applying `text` needs a second look: flags of its size, and the new Harper lints it keeps. */
  private warnings(r: Review, text: string, lints: readonly PlacedLint[] = r.lints ?? []): Flag[] {
    const flags = proposalFlags(r.baseline, text);
    if (lints.length > 0) {
      const listed = lints.slice(0, 3).map((l) => l.message.replace(/\s+/g, ' ')).join('; ');
      flags.push({ title: `Harper: ${lints.length} new issue(s)`, detail: `Harper finds ${lints.length} problem(s) your text did not have: ${listed}${lints.length > 3 ? '; ...' : ''}` });
    }
    return flags;
  }

  /** Redraws the inline view (and the context keys) from the review's state. */
  private refresh(): void {
    const r = this.review;
    if (!r) {
      this.inline.show(undefined);
      return;
    }
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === r.document.uri.toString()) ?? r.document;
    const spanText = document.isClosed ? r.original : document.getText(new vscode.Range(document.positionAt(r.span.start), document.positionAt(r.span.end)));
    const group = groupOf(r.groups, r.shown);
    const proposal = r.proposals[r.shown];
    const edited = proposal !== r.rounds[r.shown] ? ' (edited)' : '';
    this.inline.show({
      documentUri: r.document.uri.toString(), spanStart: r.span.start, spanEnd: r.span.end, intact: spanIntact(r.span, spanText, r.original),
      label: `SLHF ${groupLabel(r.groups[group], r.rounds.length)}${edited}`, hunks: r.hunks, choices: r.choices,
      hasPrevious: group > 0, hasNext: group < r.groups.length - 1, warnings: this.warnings(r, proposal),
      lints: (r.lints ?? []).map((lint) => ({ lint, hunk: hunkOfLint(r.hunks, lint)?.index })),
      guard: r.lints !== undefined ? 'ready' : this.guard.ready ? 'ready' : 'loading',
    }, { uri: r.roundUris[r.shown], text: proposal });
  }

  private async show(): Promise<void> {
    const r = this.review;
    if (!r) return;
    const group = groupOf(r.groups, r.shown);
    await Promise.all([
      vscode.commands.executeCommand('setContext', 'slhf.reviewActive', true),
      vscode.commands.executeCommand('setContext', 'slhf.reviewHasPrevious', group > 0),
      vscode.commands.executeCommand('setContext', 'slhf.reviewHasNext', group < r.groups.length - 1),
    ]);
    this.refresh();
    // Opened by itself, the diff takes the document's place in its group, as before the in-place review
    // (the tests and habits built on that layout hold); from the review's button it opens beside it.
    const column = this.diffColumn();
    if (column !== undefined || readSideBySide()) await this.showDiff({ column: column ?? 'same' });
    else await this.revealSource();
  }

  /** The column of the open review diff, if one is open. */
  private diffColumn(): vscode.ViewColumn | undefined {
    for (const group of vscode.window.tabGroups.all) {
      if (group.tabs.some((tab) => tab.input instanceof vscode.TabInputTextDiff && tab.input.modified.scheme === REVIEW_SCHEME)) return group.viewColumn;
    }
    return undefined;
  }

  /** Shows the refined text in its editor, so the inline review is in view. */
  private async revealSource(): Promise<void> {
    const r = this.review;
    if (!r || r.document.isClosed) return;
    const editor = await vscode.window.showTextDocument(r.document, { preview: false, preserveFocus: false });
    editor.revealRange(new vscode.Range(r.document.positionAt(r.span.start), r.document.positionAt(r.span.end)), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  /**
   * Opens (or switches) the side-by-side diff of the shown round; its proposal side is editable.
   * `column`: beside the document (the default: both views in sight), in the document's own group, or a given one.
   */
  async showDiff(options: { preserveFocus?: boolean; column?: 'beside' | 'same' | vscode.ViewColumn } = {}): Promise<ReviewOutcome> {
    const r = this.review;
    if (!r) return this.noReview();
    const title = `SLHF: ${r.baselineLabel} ↔ ${groupLabel(r.groups[groupOf(r.groups, r.shown)], r.rounds.length)}`;
    const right = r.roundUris[r.shown];
    const source = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === r.document.uri.toString());
    const where = options.column ?? this.diffColumn() ?? 'beside';
    const column = typeof where === 'number' ? where
      : where === 'same' ? (source?.viewColumn ?? vscode.ViewColumn.Active)
      : source?.viewColumn !== undefined ? source.viewColumn + 1 : vscode.ViewColumn.Beside;
    await vscode.commands.executeCommand('vscode.diff', r.baselineUri, right, title, { preview: false, viewColumn: column, preserveFocus: options.preserveFocus ?? false });
    await this.closeDiffTabs((modified) => modified.toString() !== right.toString());
    await this.wrapDiff(r);
    return { ok: true, message: 'SLHF: Showing the side-by-side diff; edit the proposal on its right side before accepting.' };
  }

  /** Prose diffs wrap (issue 19: .txt diffs did not): turns wrapping on in the diff when the settings leave it off. */
  private async wrapDiff(r: Review): Promise<void> {
    const config = vscode.workspace.getConfiguration('editor', { languageId: r.document.languageId });
    const diffWrap = vscode.workspace.getConfiguration('diffEditor').get<string>('wordWrap', 'inherit');
    const wraps = diffWrap === 'on' || (diffWrap === 'inherit' && config.get<string>('wordWrap', 'off') !== 'off');
    const active = vscode.window.activeTextEditor;
    if (!wraps && active?.document.uri.scheme === REVIEW_SCHEME) {
      await vscode.commands.executeCommand('editor.action.toggleWordWrap').then(undefined, (error: Error) => this.log.warn(`could not wrap the review diff: ${error.message}`));
    }
  }

  private async closeDiffTabs(which: (modified: vscode.Uri) => boolean): Promise<void> {
    const tabs = vscode.window.tabGroups.all.flatMap((group) => group.tabs).filter((tab) =>
      tab.input instanceof vscode.TabInputTextDiff && tab.input.modified.scheme === REVIEW_SCHEME && which(tab.input.modified));
    if (tabs.length === 0) return;
    // An edited proposal is saved (into memory) first, so closing its tab does not ask to save it.
    for (const tab of tabs) {
      const uri = (tab.input as vscode.TabInputTextDiff).modified.toString();
      const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri);
      if (document?.isDirty) await document.save();
    }
    await vscode.window.tabGroups.close(tabs);
  }

  private async end(announce = true): Promise<void> {
    const r = this.review;
    this.review = undefined;
    clearTimeout(this.lintTimer);
    this.inline.show(undefined);
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

  /** Moves to the previous or next distinct round (identical rounds are one step). */
  async step(delta: -1 | 1): Promise<ReviewOutcome> {
    const r = this.review;
    if (!r) return this.noReview();
    const group = groupOf(r.groups, r.shown) + delta;
    if (group < 0 || group >= r.groups.length) return { ok: false, message: `SLHF: There is no ${delta < 0 ? 'previous' : 'next'} round.` };
    r.shown = r.groups[group].first;
    this.resetHunks(r);
    await this.show();
    return { ok: true, message: `Showing ${groupLabel(r.groups[group], r.rounds.length).toLowerCase()}.` };
  }

  /**
   * Decides one change (`hunk`, else the one at the cursor in the refined document, else the first
   * undecided one). When every change is decided, the choices are applied together.
   */
  async decideHunk(choice: HunkChoice, hunk?: number): Promise<ReviewOutcome> {
    const r = this.review;
    if (!r) return this.noReview();
    const editor = vscode.window.activeTextEditor;
    const atCursor = editor ? this.inline.hunkAt(editor.document.uri.toString(), editor.document.offsetAt(editor.selection.active)) : undefined;
    const index = hunk ?? atCursor ?? r.hunks.find((h) => !r.choices.has(h.index))?.index;
    if (index === undefined || !r.hunks[index]) return { ok: false, message: 'SLHF: There is no such change in the shown round.' };
    r.choices.set(index, choice);
    if (r.hunks.every((h) => r.choices.has(h.index))) return this.applyChoices('rejected');
    this.refresh();
    const left = r.hunks.length - r.choices.size;
    return { ok: true, message: `SLHF: Change ${index + 1} ${choice}; ${left} change(s) left to decide.` };
  }

  /** Applies the per-change choices, with `undecided` for the rest: the whole round, some of it, or nothing (a rejection). */
  private async applyChoices(undecided: HunkChoice, conflict?: ConflictChoice, flagged?: FlaggedChoice): Promise<ReviewOutcome> {
    const r = this.review;
    if (!r) return this.noReview();
    const keeps = (hunk: number) => (r.choices.get(hunk) ?? undecided) === 'accepted';
    const text = composeText(r.original, r.hunks, r.choices, undecided);
    if (text === r.original && r.proposals[r.shown] !== r.original) return this.recordRejection(r);
    // A lint in unchanged text comes from the proposal as a whole: it counts when all of it is kept.
    const lints = (r.lints ?? []).filter((lint) => {
      const hunk = hunkOfLint(r.hunks, lint);
      return hunk ? keeps(hunk.index) : r.hunks.every((h) => keeps(h.index));
    });
    return this.apply(r, text, lints, conflict, flagged);
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

  private async askOnFlagged(warnings: readonly Flag[]): Promise<FlaggedChoice> {
    // The first button is the default (Enter): keep reviewing changes nothing.
    const picked = await vscode.window.showWarningMessage(
      'SLHF: This round may have damaged your text. Apply it anyway?',
      { modal: true, detail: `${warnings.map((w) => w.detail).join('\n')}\n\nKeep Reviewing leaves your text as it is and the review open (look at it side by side, edit it, or accept only some changes).` },
      'Keep Reviewing', 'Apply Anyway',
    );
    return picked === 'Apply Anyway' ? 'apply' : 'keep-reviewing';
  }

  /**
   * Accepts the shown proposal, with any per-change choices already made (the undecided ones
   * accepted). `conflict` answers the changed-document question in advance, `flagged` the
   * flagged-round question (the modals ask otherwise).
   */
  accept(conflict?: ConflictChoice, flagged?: FlaggedChoice): Promise<ReviewOutcome> {
    if (!this.review) return Promise.resolve(this.noReview());
    return this.applyChoices('accepted', conflict, flagged);
  }

  /** `lints`: the new lints of the text being applied (those of the changes it keeps). */
  private async apply(r: Review, text: string, lints: readonly PlacedLint[], conflict?: ConflictChoice, flagged?: FlaggedChoice): Promise<ReviewOutcome> {
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
    // Asked after the changed-text question: Discard there makes this one moot.
    const warnings = this.warnings(r, text, lints);
    if (warnings.length > 0 && readConfirmFlagged()) {
      const choice = flagged ?? (await this.askOnFlagged(warnings));
      this.log.info(`accept: the proposal is flagged (${warnings.length} warning(s)); choice: ${choice}`);
      if (choice !== 'apply') return { ok: false, message: 'SLHF: Nothing applied; the review is still open.' };
    }
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
    const roundText = r.rounds[r.shown];
    await this.edits.accept({
      sessionId: r.sessionId, uri: document.uri, span: { start, end: start + text.length, touched: false }, round: r.shown, accepted: text, roundText, original: r.original,
      acceptedAt: new Date().toISOString(),
    });
    const editor = await vscode.window.showTextDocument(document, { preview: false });
    editor.selection = new vscode.Selection(document.positionAt(start), document.positionAt(start + text.length));
    const what = text === roundText ? `round ${r.shown + 1}` : `round ${r.shown + 1} as you changed it (recorded as your edit)`;
    const message = `SLHF: Applied ${what}. Undo (Ctrl+Z) reverts it and records that you kept your text.`;
    void vscode.window.showInformationMessage(message);
    return { ok: true, message };
  }

  /** Rejects the rest of the changes: with some accepted, those are applied (a partial accept); with none, the original stays. */
  async reject(): Promise<ReviewOutcome> {
    const r = this.review;
    if (!r) return this.noReview();
    if ([...r.choices.values()].includes('accepted')) return this.applyChoices('rejected');
    return this.recordRejection(r);
  }

  private async recordRejection(r: Review): Promise<ReviewOutcome> {
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
