// The paths around a refinement: the document edited meanwhile, cancelling, refused targets, no
// model configured, Draft and Refine, export, and a storm of malformed panel messages.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { api, closeAllEditors, editDocument, editorWith, extensionId, reviewDiffTabs, run, sessionCount, setSetting, storedSession, eol, textOf } from './helpers';
import { test } from './runner';

const draft = 'teh quick brown fox';
const text = `Title\n\n${draft}\n`;

test('edits elsewhere in the document do not stop Accept: the round replaces the refined text where it is now', async () => {
  const slhf = await api();
  const editor = await editorWith(text, draft);
  assert.equal((await run('slhf.refineSelection')).ok, true);
  const review = slhf.reviewState();
  assert.ok(review);
  // Issue 19: an edit above the refined line made Accept ask (and Discard drop the refinement).
  await editDocument(editor.document, (edit, uri) => edit.insert(uri, new vscode.Position(0, 0), 'New '));
  const accepted = await run('slhf.acceptRefinement', { conflict: 'discard' });
  assert.equal(accepted.ok, true, accepted.message);
  assert.match(accepted.message, /Applied round/);
  assert.equal(textOf(editor.document), eol(`New Title\n\n${review.rounds[review.shown]}\n`));
  await closeAllEditors();
});

test('an edit inside the refined text is never overwritten silently: discard keeps it, apply anyway replaces it', async () => {
  const slhf = await api();
  const editor = await editorWith(text, draft);
  assert.equal((await run('slhf.refineSelection')).ok, true);
  const { document } = editor;
  await editDocument(document, (edit, uri) => edit.replace(uri, new vscode.Range(2, 4, 2, 9), 'slow'));
  const edited = text.replace('quick', 'slow');
  const discarded = await run('slhf.acceptRefinement', { conflict: 'discard' });
  assert.equal(discarded.ok, true, discarded.message);
  assert.equal(textOf(editor.document), eol(edited), 'discard left the document as the user made it');
  assert.equal(slhf.reviewState(), undefined);

  const again = await vscode.window.showTextDocument(document);
  const line = 'teh slow brown fox';
  again.selection = new vscode.Selection(document.positionAt(edited.indexOf(line)), document.positionAt(edited.indexOf(line) + line.length));
  assert.equal((await run('slhf.refineSelection')).ok, true);
  const review = slhf.reviewState();
  assert.ok(review);
  await editDocument(document, (edit, uri) => edit.insert(uri, new vscode.Position(0, 0), '# '));
  await editDocument(document, (edit, uri) => edit.insert(uri, new vscode.Position(2, line.length), '!'));
  assert.equal((await run('slhf.acceptRefinement', { conflict: 'apply' })).ok, true);
  // The round replaced the refined text (with the edit inside it) where it is now; the edit above it stayed.
  assert.equal(textOf(editor.document), eol(`# Title\n\n${review.rounds[review.shown]}\n`));
  await closeAllEditors();
});

test('a document edited meanwhile can be refined again on its current text', async () => {
  const slhf = await api();
  const editor = await editorWith(text, draft);
  assert.equal((await run('slhf.refineSelection')).ok, true);
  const first = slhf.reviewState()?.sessionId;
  // An edit inside the selected text: the re-run refines the text as it is now.
  await editDocument(editor.document, (edit, uri) => edit.replace(uri, new vscode.Range(2, 0, 2, 3), 'the'));
  assert.equal((await run('slhf.acceptRefinement', { conflict: 'rerun' })).ok, true);
  const again = slhf.reviewState();
  assert.ok(again && again.sessionId !== first, 'a new review is open');
  assert.equal((await storedSession(again.sessionId)).draft.text, 'the quick brown fox');
  assert.equal(textOf(editor.document), eol('Title\n\nthe quick brown fox\n'));
  assert.equal((await run('slhf.rejectRefinement')).ok, true);
  await closeAllEditors();
});

test('cancelling a running refinement leaves the text and the store unchanged', async () => {
  const slhf = await api();
  await setSetting('slhf.refine.maxNewTokens', 4000);
  try {
    const editor = await editorWith(text, draft);
    const sessions = await sessionCount();
    let cancelled: Thenable<unknown> | undefined;
    const listening = slhf.onDidStream((event) => {
      if (event.type === 'chunk' && !cancelled) cancelled = run('slhf.cancelRefinement');
    });
    const outcome = await run('slhf.refineSelection').finally(() => listening.dispose());
    assert.ok(cancelled, `no text streamed before the refinement ended: ${outcome.message}`);
    assert.equal(outcome.cancelled, true, outcome.message);
    assert.equal(outcome.ok, false);
    assert.equal(slhf.reviewState(), undefined);
    assert.equal(reviewDiffTabs().length, 0);
    assert.equal(textOf(editor.document), eol(text));
    assert.equal(await sessionCount(), sessions);
    assert.equal((await run('slhf.cancelRefinement')).ok, false, 'nothing left to cancel');
  } finally {
    await setSetting('slhf.refine.maxNewTokens', undefined);
    await closeAllEditors();
  }
});

test('undecodable text before the selection is left out of the context instead of failing the refinement', async () => {
  const editor = await editorWith(`binary \uFFFD\uFFFD junk\n\n${draft}\n`, draft);
  const outcome = await run('slhf.refineSelection');
  assert.equal(outcome.ok, true, outcome.message);
  const session = await storedSession(outcome.sessionId);
  assert.equal(session.context, '');
  assert.equal(session.draft.text, draft);
  assert.equal((await run('slhf.rejectRefinement')).ok, true);
  assert.equal(textOf(editor.document), eol(`binary \uFFFD\uFFFD junk\n\n${draft}\n`));
  await closeAllEditors();
});

test('multi-cursor selections and read-only documents are refused with a reason', async () => {
  const editor = await editorWith('one two\nthree four\n');
  editor.selections = [new vscode.Selection(0, 0, 0, 3), new vscode.Selection(1, 0, 1, 5)];
  const multi = await run('slhf.refineSelection');
  assert.equal(multi.ok, false);
  assert.match(multi.message, /2 selections/);
  const preview = await vscode.window.showTextDocument(vscode.Uri.from({ scheme: 'slhf-review', path: '/0/nothing.txt' }));
  preview.selection = new vscode.Selection(0, 0, 0, 4);
  const readOnly = await run('slhf.refineSelection');
  assert.equal(readOnly.ok, false);
  assert.match(readOnly.message, /preview|read-only/);
  const blank = await editorWith('text\n\n\nmore\n');
  blank.selection = new vscode.Selection(1, 0, 1, 0);
  assert.match((await run('slhf.refineSelection')).message, /Nothing to refine here/);
  await closeAllEditors();
});

test('without a configured model the built-in tiny model refines (a selection, and the walkthrough\'s sample sentence), and rejecting leaves the text as it was', async () => {
  const follower = vscode.workspace.getConfiguration().inspect<string>('slhf.follower.model')?.globalValue;
  assert.ok(follower, 'the harness sets the fixture Follower in the user settings');
  await setSetting('slhf.follower.model', undefined);
  try {
    const editor = await editorWith(text, draft);
    const outcome = await run('slhf.refineSelection');
    assert.equal(outcome.ok, true, outcome.message);
    const session = await storedSession(outcome.sessionId);
    // Harper's first pass may come first (a round of its own); the built-in model's rounds follow it.
    assert.ok(session.rounds.some((r) => /default-model/.test(r.modelId)), session.rounds.map((r) => r.modelId).join(', '));
    assert.equal((await run('slhf.rejectRefinement')).ok, true);
    assert.equal(textOf(editor.document), eol(text));
    // The walkthrough's first step: a sample sentence in a new document, refined by the built-in model.
    const sample = await run('slhf.trySample');
    assert.equal(sample.ok, true, sample.message);
    const tried = await storedSession(sample.sessionId);
    assert.equal(tried.draft.text, 'teh dog ran to the park.');
    // "teh" is Harper's to fix: its first pass is round 1, the built-in model's round follows.
    const madeBy = tried.rounds.map((r) => (/default-model/.test(r.modelId) ? 'built-in' : r.modelId));
    assert.equal(madeBy[0], 'harper.js 2.10 (first pass)', madeBy.join(', '));
    assert.ok(madeBy.length > 1 && madeBy.slice(1).every((m) => m === 'built-in'), madeBy.join(', '));
    const sampleDocument = vscode.workspace.textDocuments.find((d) => d.isUntitled && d.getText().startsWith('teh dog'));
    assert.ok(sampleDocument, 'the sample opened in an untitled document');
    assert.equal((await run('slhf.rejectRefinement')).ok, true);
    await vscode.window.showTextDocument(sampleDocument);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  } finally {
    await setSetting('slhf.follower.model', follower);
    await closeAllEditors();
  }
});

test('Draft and Refine drafts with the Leader, refines, and inserts the accepted round at the cursor', async () => {
  const slhf = await api();
  const editor = await editorWith('Before.\n\nAfter.\n');
  editor.selection = new vscode.Selection(1, 0, 1, 0);
  const outcome = await run('slhf.draftAndRefine', { instruction: 'Write one sentence about foxes.' });
  assert.equal(outcome.ok, true, outcome.message);
  const session = await storedSession(outcome.sessionId);
  assert.equal(session.draft.source, 'leader');
  assert.ok(session.draft.generation?.modelId, 'the Leader draft keeps its generation record');
  assert.equal(session.instruction, 'Write one sentence about foxes.');
  const review = slhf.reviewState();
  assert.ok(review);
  const [tab] = reviewDiffTabs();
  assert.equal(textOf(await vscode.workspace.openTextDocument(tab.original)), eol(session.draft.text), 'the diff compares against the Leader draft');
  assert.equal((await run('slhf.acceptRefinement')).ok, true);
  assert.equal(textOf(editor.document), eol(`Before.\n${review.rounds[review.shown]}\nAfter.\n`));
  await closeAllEditors();
});

test('export writes the stored preference pairs as TRL paired JSONL', async () => {
  const slhf = await api();
  const file = join(tmpdir(), `slhf-export-${process.pid}.jsonl`);
  try {
    const outcome = await slhf.exportPairs(vscode.Uri.file(file));
    assert.equal(outcome.ok, true, outcome.message);
    const rows = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.ok(rows.length > 0, 'the earlier tests decided sessions, so there are pairs');
    for (const row of rows) assert.deepEqual(Object.keys(row).sort(), ['chosen', 'prompt', 'rejected']);
  } finally {
    rmSync(file, { force: true });
  }
});

test('a storm of malformed panel messages is ignored and the extension keeps working', async () => {
  const slhf = await api();
  const ignoredBefore = slhf.ignoredPanelMessages();
  const cyclic: Record<string, unknown> = { type: 'ready' };
  cyclic.self = cyclic;
  const junk: unknown[] = [
    null, undefined, 0, 'ready', [], {}, { type: 'nope' }, { type: 'ready', x: 1 }, cyclic,
    { type: 'runCommand', command: 'workbench.action.terminal.new' }, { type: 'runCommand', command: 'slhf.refineSelection' },
    { type: 'deleteSession', id: '../../etc/passwd' }, { type: 'deleteSession', id: 42 }, { type: 'reopenSession' },
    { type: 'queryHistory', text: 'x'.repeat(10_000), filter: 'all' }, { type: 'queryHistory', text: 'x', filter: 'drop table' },
    Object.create({ type: 'ready' }), { __proto__: { type: 'ready' } }, { type: 'ready', toString: null },
  ];
  const storm = Array.from({ length: 500 }, (_, i) => junk[i % junk.length]);
  await Promise.all(storm.map((message) => slhf.receivePanelMessage(message)));
  assert.equal(slhf.ignoredPanelMessages() - ignoredBefore, storm.length);
  // Valid messages still work, and so do the commands.
  await slhf.receivePanelMessage({ type: 'queryHistory', text: 'fox', filter: 'all' });
  await slhf.receivePanelMessage({ type: 'ready' });
  assert.equal(slhf.ignoredPanelMessages() - ignoredBefore, storm.length);
  const editor = await editorWith(text, draft);
  const outcome = await run('slhf.refineSelection');
  assert.equal(outcome.ok, true, outcome.message);
  assert.equal((await run('slhf.rejectRefinement')).ok, true);
  assert.equal(textOf(editor.document), eol(text));
  await closeAllEditors();
});

test('Train trains the Leader and Follower (shared adapter, the default) on the recorded decisions and the next refinement and draft use the new version', async () => {
  // slhf.training.leader defaults to on and the Leader is the Follower's base model here.
  // { activate: true } answers the offer to activate the new version ahead (the UI test clicks it).
  const outcome = await run('slhf.trainFollower', { epochs: 1, activate: true });
  assert.equal(outcome.ok, true, outcome.message);
  assert.match(outcome.message, /activated version v0001 for the Follower and the Leader/);
  const editor = await editorWith(text, draft);
  const refined = await run('slhf.refineSelection');
  assert.equal(refined.ok, true, refined.message);
  const session = await storedSession(refined.sessionId);
  assert.ok(session.rounds.every((r) => r.adapterVersion !== null), 'the rounds were generated with the trained adapter');
  assert.equal((await run('slhf.rejectRefinement')).ok, true);
  assert.equal(textOf(editor.document), eol(text));
  // Draft and Refine drafts with the trained Leader (it always drafted with the base model before).
  const drafted = await run('slhf.draftAndRefine', { instruction: 'Write one sentence about foxes.' });
  assert.equal(drafted.ok, true, drafted.message);
  const draftSession = await storedSession(drafted.sessionId);
  assert.equal(draftSession.draft.source, 'leader');
  assert.ok(draftSession.draft.generation?.adapterVersion, 'the Leader drafted with the shared trained adapter');
  assert.equal(draftSession.draft.generation?.adapterVersion, draftSession.rounds[0]?.adapterVersion, 'one adapter for both roles');
  assert.equal((await run('slhf.rejectRefinement')).ok, true);
  await closeAllEditors();
}, { timeoutMs: 240_000 });

test('the panel switches the Follower between the base model and a trained version, and rolls back', async () => {
  const slhf = await api();
  const activeFile = join(slhf.storeLocation, 'follower', 'active.json');
  const active = () => (JSON.parse(readFileSync(activeFile, 'utf8')) as { version: string | null }).version;
  await slhf.receivePanelMessage({ type: 'activateVersion', version: 'base' });
  assert.equal(active(), null);
  const editor = await editorWith(text, draft);
  const refined = await run('slhf.refineSelection');
  assert.equal(refined.ok, true, refined.message);
  assert.ok((await storedSession(refined.sessionId)).rounds.every((r) => r.adapterVersion === null), 'the base model refined');
  assert.equal((await run('slhf.rejectRefinement')).ok, true);
  await slhf.receivePanelMessage({ type: 'activateVersion', version: 'v0001' });
  assert.equal(active(), 'v0001');
  // Rolling back activates the version before the active one: for the first version, the base model.
  await slhf.receivePanelMessage({ type: 'rollbackVersion' });
  assert.equal(active(), null);
  // Nothing to roll back from the base model: the request fails without changing anything.
  await slhf.receivePanelMessage({ type: 'rollbackVersion' });
  assert.equal(active(), null);
  assert.equal(textOf(editor.document), eol(text));
  await closeAllEditors();
});

/** Refines the sample, rejects the result (the text stays as it was) and returns each round's adapter version (null: none applied). */
async function refineAndReject(): Promise<(string | null)[]> {
  const editor = await editorWith(text, draft);
  const refined = await run('slhf.refineSelection');
  assert.equal(refined.ok, true, refined.message);
  const rounds = (await storedSession(refined.sessionId)).rounds;
  assert.equal((await run('slhf.rejectRefinement')).ok, true);
  assert.equal(textOf(editor.document), eol(text));
  await closeAllEditors();
  return rounds.map((r) => r.adapterVersion);
}

test('an adapter imported with slhf adapters import activates from the panel like a trained one, and the next refinement uses it without a reload', async () => {
  const slhf = await api();
  const root = join(slhf.storeLocation, 'follower');
  const activeFile = join(root, 'active.json');
  const active = () => (JSON.parse(readFileSync(activeFile, 'utf8')) as { version: string | null }).version;
  const refineWith = async (version: string) => {
    await slhf.receivePanelMessage({ type: 'activateVersion', version });
    assert.equal(active(), version);
    return refineAndReject();
  };
  // An adapter from elsewhere in PEFT's layout: the trained v0001's files, with another alpha.
  const source = mkdtempSync(join(tmpdir(), 'slhf-peft-'));
  try {
    const config = JSON.parse(readFileSync(join(root, 'adapters', 'v0001', 'adapter_config.json'), 'utf8'));
    writeFileSync(join(source, 'adapter_config.json'), JSON.stringify({ ...config, lora_alpha: config.lora_alpha * 2 }));
    writeFileSync(join(source, 'adapter_model.safetensors'), readFileSync(join(root, 'adapters', 'v0001', 'adapter_model.safetensors')));
    const cli = join(vscode.extensions.getExtension(extensionId)!.extensionPath, 'out', 'cli.js');
    const follower = vscode.workspace.getConfiguration('slhf').get<string>('follower.model', '');
    const imported = spawnSync(process.execPath, [cli, 'adapters', 'import', source, '--out', root, '--follower', follower, '--json'], {
      encoding: 'utf8', env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    });
    assert.equal(imported.status, 0, imported.stderr);
    const version = (JSON.parse(imported.stdout) as { version: string }).version;
    const trained = await refineWith('v0001');
    const mine = await refineWith(version);
    assert.ok(mine.every((v) => v !== null && !trained.includes(v)), `the imported adapter refined: ${mine} vs v0001's ${trained}`);
  } finally {
    rmSync(source, { recursive: true, force: true });
    await slhf.receivePanelMessage({ type: 'activateVersion', version: 'base' });
  }
});

test('switching the Follower to another base model after training: the refinement works, the old version is neither applied nor listed, and applies again after switching back', async () => {
  const slhf = await api();
  const follower = vscode.workspace.getConfiguration().inspect<string>('slhf.follower.model')?.globalValue;
  assert.ok(follower, 'the tests configure a Follower in the user settings');
  // Issue 19: v0001 was trained on the tiny Follower; on another checkpoint it failed every refinement with a tensor dump.
  await slhf.receivePanelMessage({ type: 'activateVersion', version: 'v0001' });
  const other = mkdtempSync(join(tmpdir(), 'slhf-other-base-'));
  const cli = join(vscode.extensions.getExtension(extensionId)!.extensionPath, 'out', 'cli.js');
  const made = spawnSync(process.execPath, [cli, 'make-tiny-model', '--arch', 'qwen2', '--tokenizer', 'bytes', '--out', join(other, 'model'), '--layers', '2', '--hidden', '32', '--heads', '2', '--kv-heads', '1', '--intermediate', '64'], {
    encoding: 'utf8', env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
  });
  assert.equal(made.status, 0, made.stderr);
  try {
    await setSetting('slhf.follower.model', join(other, 'model'));
    assert.deepEqual(new Set(await refineAndReject()), new Set([null]), 'no adapter was applied to the other model');
    const listed = await slhf.panelVersions();
    assert.equal(listed.active, null);
    assert.ok(!listed.versions.some((v) => v.version === 'v0001'), 'the other model\'s version is not offered');
    assert.match(listed.note, /v0001 was trained on .*tiny-follower.*not applied/);
    await slhf.receivePanelMessage({ type: 'activateVersion', version: 'v0001' });
    assert.equal((await slhf.panelVersions()).active, null, 'activating the other model\'s version is refused');
  } finally {
    await setSetting('slhf.follower.model', follower);
    rmSync(other, { recursive: true, force: true });
  }
  assert.ok((await refineAndReject()).every((v) => v !== null), 'back on its model, v0001 applies again');
  assert.equal((await slhf.panelVersions()).active, 'v0001');
  await slhf.receivePanelMessage({ type: 'activateVersion', version: 'base' });
});
