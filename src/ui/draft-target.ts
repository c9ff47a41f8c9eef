// Where a refinement's text comes from and goes back to. Refine Selection takes the selection as
// the draft; with an empty selection it takes the current paragraph (the lines around the cursor up
// to the nearest blank lines). Multi-cursor selections, notebook cells and read-only documents are
// refused with a message that says why and what to do instead.
import * as vscode from 'vscode';
import { checkText } from '../refiner/limits';
import { paragraphAt } from './paragraph';

export interface DraftTarget {
  readonly document: vscode.TextDocument;
  /** The range the result replaces (empty: inserted at the cursor). */
  readonly range: vscode.Range;
  readonly text: string;
  /** The document's version when the text was taken; Accept compares against it. */
  readonly version: number;
  /** Up to a few hundred characters before the range: part of the context the models see. */
  readonly context: string;
  /** Why the text before the range was left out of the context, if it was. */
  readonly contextDropped?: string;
}

export type TargetResult = { readonly ok: true; readonly target: DraftTarget } | { readonly ok: false; readonly message: string };

const CONTEXT_CHARS = 400;
/** Schemes whose documents are views, not files the user writes. */
const READ_ONLY_SCHEMES = new Set(['output', 'git', 'gitfs', 'vscode-scm', 'slhf-review', 'walkThroughSnippet', 'debug']);

export function isReadOnly(document: vscode.TextDocument): boolean {
  if (READ_ONLY_SCHEMES.has(document.uri.scheme)) return true;
  return vscode.workspace.fs.isWritableFileSystem(document.uri.scheme) === false;
}

function refuse(message: string): TargetResult {
  return { ok: false, message };
}

/** Checks the editor and picks the text. `allowEmpty` lets Draft and Refine insert at the cursor. */
export function pickTarget(editor: vscode.TextEditor | undefined, mode: 'selection-or-paragraph' | 'selection-or-cursor'): TargetResult {
  if (!editor) return refuse('SLHF: Open a text editor and select the text to refine.');
  const { document } = editor;
  if (document.uri.scheme === 'vscode-notebook-cell') {
    return refuse('SLHF: Refining text inside notebook cells is not supported yet. Copy the text into a regular editor, refine it there, and paste it back.');
  }
  if (isReadOnly(document)) {
    return refuse(`SLHF: ${document.uri.scheme === 'slhf-review' ? 'This is a refinement preview' : 'This document is read-only'}; the refined text could not be written back. Open an editable document and try again.`);
  }
  if (editor.selections.length > 1) {
    return refuse(`SLHF: You have ${editor.selections.length} selections. SLHF refines one piece of text at a time: keep a single selection (press Escape) and try again.`);
  }
  let range: vscode.Range = editor.selection;
  if (range.isEmpty && mode === 'selection-or-paragraph') {
    const lines = Array.from({ length: document.lineCount }, (_, i) => document.lineAt(i).text);
    const paragraph = paragraphAt(lines, editor.selection.active.line);
    if (!paragraph) return refuse('SLHF: Nothing to refine here: select some text, or put the cursor in a paragraph.');
    range = new vscode.Range(paragraph.startLine, 0, paragraph.endLine, lines[paragraph.endLine].length);
  }
  const start = document.offsetAt(range.start);
  const before = document.getText(new vscode.Range(document.positionAt(Math.max(0, start - CONTEXT_CHARS)), range.start));
  const text = document.getText(range);
  // The context only helps; text the refiner would refuse there (binary, undecodable) is left out
  // instead of failing the refinement of a clean selection.
  let contextDropped: string | undefined;
  try {
    if (before.trim()) checkText(before, 'The text before the selection');
  } catch (error) {
    contextDropped = error instanceof Error ? error.message : String(error);
  }
  return { ok: true, target: { document, range, text, version: document.version, context: contextDropped ? '' : before, contextDropped } };
}
