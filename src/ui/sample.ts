// The walkthrough's first step: a sample sentence the built-in demo model can fix (typos, a doubled
// word, casing, a missing full stop), opened in a new untitled document and selected, so a new user
// sees a refinement before setting anything up.
import * as vscode from 'vscode';

/** What the built-in model was trained to fix, in one short sentence. */
export const SAMPLE_SENTENCE = 'teh dog ran to the park.';

/** Opens the sample sentence in a new plain-text document, selected, and returns its editor. */
export async function openSampleSentence(): Promise<vscode.TextEditor> {
  const document = await vscode.workspace.openTextDocument({ language: 'plaintext', content: `${SAMPLE_SENTENCE}\n` });
  const editor = await vscode.window.showTextDocument(document, { preview: false });
  editor.selection = new vscode.Selection(0, 0, 0, SAMPLE_SENTENCE.length);
  return editor;
}
