// Shared helpers for the in-host specs: the extension's API, fresh documents with a selection, the
// store as the extension writes it, and waiting on the editor's tabs.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { SlhfExtensionApi } from '../../../src/extension';
import type { CommandOutcome } from '../../../src/ui/commands';
import type { SessionRecord } from '../../../src/store/schema';
import { PreferenceStore } from '../../../src/store/store';

export const extensionId = 'slhf-refine.slhf-refine';

export async function api(): Promise<SlhfExtensionApi> {
  const extension = vscode.extensions.getExtension<SlhfExtensionApi>(extensionId);
  assert.ok(extension, `${extensionId} is not loaded`);
  return extension.activate();
}

export function run(command: string, arg?: unknown): Promise<CommandOutcome> {
  return Promise.resolve(vscode.commands.executeCommand<CommandOutcome>(command, arg));
}

let fileCount = 0;

/** A new file in the workspace with `text`, open in an editor with `selected` selected. */
export async function editorWith(text: string, selected?: string, extension = '.md'): Promise<vscode.TextEditor> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'no workspace folder open');
  const uri = vscode.Uri.joinPath(folder.uri, `refine-${process.pid}-${++fileCount}${extension}`);
  await vscode.workspace.fs.writeFile(uri, Buffer.from(text));
  const editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: false });
  if (selected !== undefined) {
    const start = text.indexOf(selected);
    assert.ok(start >= 0, `"${selected}" is not in the text`);
    editor.selection = new vscode.Selection(editor.document.positionAt(start), editor.document.positionAt(start + selected.length));
  }
  return editor;
}

export async function storedSession(id: string | undefined): Promise<SessionRecord> {
  assert.ok(id, 'the outcome names no session');
  const store = await PreferenceStore.open((await api()).storeLocation);
  const record = await store.get(id);
  assert.ok(record && record.kind === 'session', `session ${id} is not in the store`);
  return record;
}

export async function sessionCount(): Promise<number> {
  const store = await PreferenceStore.open((await api()).storeLocation);
  return (await store.list({ limit: 0 })).total;
}

/** The diff tabs the review shows (their modified side is a review document). */
export function reviewDiffTabs(): vscode.TabInputTextDiff[] {
  return vscode.window.tabGroups.all.flatMap((group) => group.tabs)
    .map((tab) => tab.input)
    .filter((input): input is vscode.TabInputTextDiff => input instanceof vscode.TabInputTextDiff && input.modified.scheme === 'slhf-review');
}

/** Changes a user setting and waits until the extension host reads the new value. */
export async function setSetting(key: string, value: unknown): Promise<void> {
  await vscode.workspace.getConfiguration().update(key, value, vscode.ConfigurationTarget.Global);
  for (let i = 0; i < 100 && vscode.workspace.getConfiguration().inspect(key)?.globalValue !== value; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal(vscode.workspace.getConfiguration().inspect(key)?.globalValue, value, `${key} did not change`);
}

/** Edits a document through a WorkspaceEdit (its editor may be hidden behind the review diff). */
export async function editDocument(document: vscode.TextDocument, change: (edit: vscode.WorkspaceEdit, uri: vscode.Uri) => void): Promise<void> {
  const edit = new vscode.WorkspaceEdit();
  change(edit, document.uri);
  assert.ok(await vscode.workspace.applyEdit(edit), 'the edit was refused');
}

export async function closeAllEditors(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

/**
 * Text as a VS Code document holds it: every line break as \n. The fixture model's random output
 * can contain a lone \r, which documents turn into a line break.
 */
export function eol(text: string): string {
  return text.replace(/\r\n|\r/g, '\n');
}

/** A document's text with line breaks as \n. */
export function textOf(document: vscode.TextDocument): string {
  return eol(document.getText());
}
