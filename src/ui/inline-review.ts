// The review shown in place, in the source editor, the way Copilot's and Continue's inline reviews
// do it: the original text stays in the document (nothing is written before a decision), each
// change (hunk) shows its removed words struck through and its new words beside them, and CodeLens
// rows offer Accept/Reject per change and for the whole round, the round switcher and the
// side-by-side diff (where the proposal is editable). Warnings about the round (a garbled or
// truncated result, new Harper lints) are a row of their own and diagnostics on the text.
// The real text wraps with the editor; the new words are decorations, so a very long insertion
// reads best in the side-by-side diff.
import * as vscode from 'vscode';
import type { Flag, Hunk, HunkChoice, PlacedLint } from './hunks';

/** What the inline view draws; ReviewController builds it. */
export interface InlineModel {
  readonly documentUri: string;
  /** Offset of the refined text in the document (valid only while that text is unchanged). */
  readonly spanStart: number;
  readonly spanEnd: number;
  /** False once the refined text was edited in the document: the hunks no longer fit it. */
  readonly intact: boolean;
  readonly label: string;
  readonly hunks: readonly Hunk[];
  readonly choices: ReadonlyMap<number, HunkChoice>;
  readonly hasPrevious: boolean;
  readonly hasNext: boolean;
  /** Why Accept asks first: flags and new lints. */
  readonly warnings: readonly Flag[];
  /** New lints with the hunk they belong to (undefined: in unchanged text). */
  readonly lints: readonly { lint: PlacedLint; hunk: number | undefined }[];
  /** Whether the guard has run on this proposal yet. */
  readonly guard: 'loading' | 'ready' | 'off';
}

function color(id: string): vscode.ThemeColor {
  return new vscode.ThemeColor(id);
}

/** Newlines cannot show inside a decoration's text; a visible mark keeps them from vanishing. */
function shown(text: string): string {
  return text.replace(/\r?\n/g, '⏎');
}

export class InlineReview implements vscode.CodeLensProvider, vscode.Disposable {
  private model: InlineModel | undefined;
  private readonly lensesChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.lensesChanged.event;
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('slhf-review');
  private readonly removed = vscode.window.createTextEditorDecorationType({
    backgroundColor: color('diffEditor.removedTextBackground'), textDecoration: 'line-through',
  });
  private readonly keptOriginal = vscode.window.createTextEditorDecorationType({
    border: '1px dashed', borderColor: color('editorWarning.foreground'),
  });
  private readonly acceptedRemoved = vscode.window.createTextEditorDecorationType({ textDecoration: 'line-through', opacity: '0.45' });
  private readonly added = vscode.window.createTextEditorDecorationType({
    after: { backgroundColor: color('diffEditor.insertedTextBackground'), border: '1px solid', borderColor: color('diffEditor.insertedLineBackground') },
  });
  private readonly rejectedAdded = vscode.window.createTextEditorDecorationType({ after: { textDecoration: 'line-through', color: color('disabledForeground') } });
  private readonly region = vscode.window.createTextEditorDecorationType({
    isWholeLine: true, backgroundColor: color('diffEditor.unchangedRegionBackground'), overviewRulerColor: color('editorInfo.foreground'), overviewRulerLane: vscode.OverviewRulerLane.Left,
  });
  private readonly disposables: vscode.Disposable[];

  constructor() {
    this.disposables = [
      vscode.languages.registerCodeLensProvider('*', this),
      vscode.window.onDidChangeVisibleTextEditors(() => this.render()),
    ];
  }

  show(model: InlineModel | undefined, proposalDiagnostics?: { uri: vscode.Uri; text: string }): void {
    this.model = model;
    this.diagnostics.clear();
    if (model?.intact) {
      const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === model.documentUri);
      if (document) {
        this.diagnostics.set(document.uri, model.lints.map(({ lint, hunk }) => {
          const h = hunk === undefined ? undefined : model.hunks[hunk];
          const range = h ? this.range(document, model.spanStart + h.start, model.spanStart + h.end) : this.range(document, model.spanStart, model.spanEnd);
          const diagnostic = new vscode.Diagnostic(range, `SLHF round: ${h ? `change ${h.index + 1} ("${h.added}")` : 'the proposal'} introduces ${lint.message}`, vscode.DiagnosticSeverity.Warning);
          diagnostic.source = 'Harper';
          return diagnostic;
        }));
      }
    }
    if (model && proposalDiagnostics) {
      this.diagnostics.set(proposalDiagnostics.uri, model.lints.map(({ lint }) => {
        const diagnostic = new vscode.Diagnostic(new vscode.Range(position(proposalDiagnostics.text, lint.start), position(proposalDiagnostics.text, lint.end)), `New in this round: ${lint.message}`, vscode.DiagnosticSeverity.Warning);
        diagnostic.source = 'Harper';
        return diagnostic;
      }));
    }
    this.render();
    this.lensesChanged.fire();
  }

  private range(document: vscode.TextDocument, start: number, end: number): vscode.Range {
    return new vscode.Range(document.positionAt(start), document.positionAt(end));
  }

  private render(): void {
    const model = this.model;
    for (const editor of vscode.window.visibleTextEditors) {
      const mine = model?.intact && editor.document.uri.toString() === model.documentUri;
      if (!mine || !model) {
        for (const type of [this.removed, this.keptOriginal, this.acceptedRemoved, this.added, this.rejectedAdded, this.region]) editor.setDecorations(type, []);
        continue;
      }
      const at = (offset: number) => editor.document.positionAt(model.spanStart + offset);
      const removed: vscode.Range[] = [];
      const keptOriginal: vscode.Range[] = [];
      const acceptedRemoved: vscode.Range[] = [];
      const added: vscode.DecorationOptions[] = [];
      const rejectedAdded: vscode.DecorationOptions[] = [];
      for (const hunk of model.hunks) {
        const choice = model.choices.get(hunk.index);
        const range = new vscode.Range(at(hunk.start), at(hunk.end));
        if (hunk.removed) (choice === 'accepted' ? acceptedRemoved : choice === 'rejected' ? keptOriginal : removed).push(range);
        if (hunk.added) {
          const option: vscode.DecorationOptions = {
            range: new vscode.Range(range.end, range.end),
            renderOptions: { after: { contentText: shown(hunk.added) } },
            hoverMessage: new vscode.MarkdownString(`Change ${hunk.index + 1}: ${choice ?? 'undecided'}`),
          };
          (choice === 'rejected' ? rejectedAdded : added).push(option);
        }
      }
      editor.setDecorations(this.removed, removed);
      editor.setDecorations(this.keptOriginal, keptOriginal);
      editor.setDecorations(this.acceptedRemoved, acceptedRemoved);
      editor.setDecorations(this.added, added);
      editor.setDecorations(this.rejectedAdded, rejectedAdded);
      editor.setDecorations(this.region, [new vscode.Range(at(0), editor.document.positionAt(model.spanEnd))]);
    }
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const model = this.model;
    if (!model || document.uri.toString() !== model.documentUri) return [];
    // The round's lenses sit at the end of the first line, so that on a one-line text the changes' own
    // buttons (placed at their words) come first in the row.
    const firstLineEnd = document.lineAt(document.positionAt(model.spanStart).line).range.end;
    const top = new vscode.Range(firstLineEnd, firstLineEnd);
    const lens = (range: vscode.Range, title: string, command: string, args?: unknown, tooltip?: string) =>
      new vscode.CodeLens(range, { title, command, arguments: args === undefined ? undefined : [args], tooltip });
    const decided = model.choices.size;
    const rest = decided > 0 ? 'Rest' : 'All';
    // One row per line, cut off at the editor's edge: the changes' buttons, then the round's, then
    // what is worth knowing about it.
    const lenses: vscode.CodeLens[] = [];
    if (model.intact) {
      for (const hunk of model.hunks) {
        const at = document.positionAt(model.spanStart + hunk.start);
        const range = new vscode.Range(at, at);
        const choice = model.choices.get(hunk.index);
        const n = hunk.index + 1;
        lenses.push(
          lens(range, `${choice === 'accepted' ? '$(pass-filled) Accepted' : '$(check) Accept'} ${n}`, 'slhf.acceptChange', { hunk: hunk.index }, `Change ${n}: "${hunk.removed}" → "${hunk.added}" (Ctrl+Alt+A at the change)`),
          lens(range, `${choice === 'rejected' ? '$(error) Rejected' : '$(close) Reject'} ${n}`, 'slhf.rejectChange', { hunk: hunk.index }, `Change ${n}: keep "${hunk.removed}" (Ctrl+Alt+X at the change)`),
        );
      }
    }
    lenses.push(
      lens(top, `$(check) Accept ${rest}`, 'slhf.acceptRefinement', undefined, `${decided > 0 ? 'Accept the undecided changes and apply your choices' : 'Apply the whole round'} (Ctrl+Alt+Y)`),
      lens(top, `$(close) Reject ${rest}`, 'slhf.rejectRefinement', undefined, `${decided > 0 ? 'Reject the undecided changes and apply your choices' : 'Keep your text'} (Ctrl+Alt+N)`),
      lens(top, '$(diff) Side by Side', 'slhf.showReviewDiff', undefined, 'Open the side-by-side diff: the whole proposal, wrapped, editable before you accept'),
    );
    if (model.hasPrevious) lenses.push(lens(top, '$(arrow-left)', 'slhf.previousRound', undefined, 'Show the previous round (Ctrl+Alt+[)'));
    lenses.push(lens(top, model.label, 'slhf.showReviewDiff', undefined, 'The round shown; rounds equal to the one before are shown once'));
    if (model.hasNext) lenses.push(lens(top, '$(arrow-right)', 'slhf.nextRound', undefined, 'Show the next round (Ctrl+Alt+])'));
    for (const warning of model.warnings) lenses.push(lens(top, `$(warning) ${warning.title}`, 'slhf.showReviewDiff', undefined, `${warning.detail} Accept asks before applying it.`));
    if (model.guard === 'loading') lenses.push(lens(top, '$(loading~spin) Harper', '', undefined, 'Harper, the grammar guard, is loading; its warnings appear when it is ready'));
    if (!model.intact) lenses.push(lens(top, '$(warning) The text changed since the refinement started; Accept asks what to do', ''));
    return lenses;
  }

  /** The hunk at an offset of the document (its removed text, or the point where its text goes). */
  hunkAt(documentUri: string, offset: number): number | undefined {
    const model = this.model;
    if (!model?.intact || documentUri !== model.documentUri) return undefined;
    return model.hunks.find((h) => model.spanStart + h.start <= offset && offset <= model.spanStart + h.end)?.index;
  }

  dispose(): void {
    this.model = undefined;
    this.render();
    for (const disposable of this.disposables) disposable.dispose();
    for (const type of [this.removed, this.keptOriginal, this.acceptedRemoved, this.added, this.rejectedAdded, this.region]) type.dispose();
    this.diagnostics.dispose();
    this.lensesChanged.dispose();
  }
}

/** The line and character of an offset in a text (for a document that may not be open). */
export function position(text: string, offset: number): vscode.Position {
  const before = text.slice(0, offset);
  const line = before.split('\n').length - 1;
  return new vscode.Position(line, offset - (before.lastIndexOf('\n') + 1));
}
