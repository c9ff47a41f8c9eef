// Refine Selection end to end with the fixture Follower: the worker streams, the diff review opens,
// and Accept / Reject / round switching / undo act on the document and the store.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { StreamEvent } from '../../../src/ui/refine-flow';
import type { ReviewState } from '../../../src/ui/review';
import { api, closeAllEditors, editDocument, editorWith, reviewDiffTabs, run, storedSession, eol, textOf } from './helpers';
import { test } from './runner';

/** Waits (up to 5 s) until the stored session's decision is `kind`: decisions are written asynchronously. */
async function decisionBecomes(id: string, kind: string): Promise<void> {
  let seen = '';
  for (let i = 0; i < 100 && seen !== kind; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    seen = (await storedSession(id)).decision.kind;
  }
  assert.equal(seen, kind, `the decision did not become ${kind}`);
}

const before = 'Intro line.\n\n';
const draft = 'teh quick brown fox jumpd over the lazy dog';
const after = '\n\nLast line.\n';

test('Refine Selection streams the Follower rounds and opens the diff review', async () => {
  const slhf = await api();
  const editor = await editorWith(before + draft + after, draft);
  const events: StreamEvent[] = [];
  const listening = slhf.onDidStream((event) => events.push(event));
  const outcome = await run('slhf.refineSelection').finally(() => listening.dispose());
  assert.equal(outcome.ok, true, outcome.message);
  const review = slhf.reviewState();
  assert.ok(review, 'no review is open');
  assert.equal(review.documentUri, editor.document.uri.toString());
  assert.ok(review.rounds.length >= 1);
  assert.equal(review.shown, review.rounds.length - 1, 'the last round is shown first');
  // The live view got the rounds as they were generated.
  assert.equal(events[0].type, 'begin');
  assert.equal(events.at(-1)?.type, 'done');
  assert.ok(events.some((e) => e.type === 'chunk'), 'no text was streamed');
  // The diff editor compares the original with the shown round, both virtual documents.
  const [tab, ...others] = reviewDiffTabs();
  assert.ok(tab, 'no review diff is open');
  assert.equal(others.length, 0);
  assert.equal(textOf(await vscode.workspace.openTextDocument(tab.original)), eol(draft));
  assert.equal(textOf(await vscode.workspace.openTextDocument(tab.modified)), eol(review.rounds[review.shown]));
  // The session is in the store, undecided, with the user's text as the draft.
  const session = await storedSession(outcome.sessionId);
  assert.equal(session.draft.text, draft);
  assert.equal(session.draft.source, 'user');
  assert.equal(session.context, before, 'the text before the selection is the context');
  assert.deepEqual(session.rounds.map((r) => r.text), review.rounds);
  assert.ok(session.rounds.every((r) => r.logprobs.length === (r.tokenIds?.length ?? -1)), 'each round keeps its token ids and log-probs');
  assert.equal(session.decision.kind, 'pending');
  assert.equal(textOf(editor.document), eol(before + draft + after), 'refining alone changes nothing');
});

/** Refines `draft` in a new document and returns its review: each test starts its own (tests are isolated). */
async function freshReview(): Promise<ReviewState> {
  await editorWith(before + draft + after, draft);
  const outcome = await run('slhf.refineSelection');
  assert.equal(outcome.ok, true, outcome.message);
  const review = (await api()).reviewState();
  assert.ok(review, 'no review is open');
  return review;
}

test('Previous and Next round switch the diff to another round', async () => {
  const slhf = await api();
  const review = await freshReview();
  if (review.rounds.length < 2) return; // the Follower hit a fixed point after one round: nothing to switch
  const last = review.rounds.length - 1;
  assert.equal((await run('slhf.nextRound')).ok, false, 'there is no round after the last');
  assert.equal((await run('slhf.previousRound')).ok, true);
  assert.equal(slhf.reviewState()?.shown, last - 1);
  const [tab] = reviewDiffTabs();
  assert.match(tab.modified.path, new RegExp(`/round-${last}\\.md$`));
  assert.equal(reviewDiffTabs().length, 1, 'the previous round\'s diff tab was replaced');
  assert.equal((await run('slhf.nextRound')).ok, true);
  assert.equal(slhf.reviewState()?.shown, last);
});

test('Accept writes the shown round into the document, records it, and one undo restores the text', async () => {
  const slhf = await api();
  const review = await freshReview();
  const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === review.documentUri);
  assert.ok(document);
  const outcome = await run('slhf.acceptRefinement');
  assert.equal(outcome.ok, true, outcome.message);
  const chosen = review.rounds[review.shown];
  assert.equal(textOf(document), eol(before + chosen + after));
  assert.equal(slhf.reviewState(), undefined, 'the review ended');
  assert.equal(reviewDiffTabs().length, 0, 'the diff was closed');
  const session = await storedSession(review.sessionId);
  assert.equal(session.decision.kind, 'accepted');
  assert.equal(session.decision.kind === 'accepted' && session.decision.round, review.shown);
  // One undo takes the whole refinement back.
  await vscode.window.showTextDocument(document);
  await vscode.commands.executeCommand('undo');
  assert.equal(textOf(document), eol(before + draft + after));
  // The undo is an explicit change of decision, in the store at once (not when the watch ends):
  // the user took back the accepted round and kept their original text.
  await decisionBecomes(review.sessionId, 'undone');
  const undone = (await storedSession(review.sessionId)).decision;
  assert.deepEqual(undone.kind === 'undone' && [undone.round, undone.acceptedAt], [review.shown, session.decision.kind === 'accepted' && session.decision.decidedAt]);
  // Redo applies the round again and restores the acceptance, also at once.
  await vscode.commands.executeCommand('redo');
  assert.equal(textOf(document), eol(before + chosen + after));
  await decisionBecomes(review.sessionId, 'accepted');
  await vscode.commands.executeCommand('undo');
  await decisionBecomes(review.sessionId, 'undone');
  // Ending the watch writes nothing more.
  await slhf.finishEditWatches();
  assert.equal((await storedSession(review.sessionId)).decision.kind, 'undone');
  await closeAllEditors();
});

test('an edit of an accepted refinement is recorded with the final text', async () => {
  const slhf = await api();
  const editor = await editorWith(before + draft + after, draft);
  const outcome = await run('slhf.refineSelection');
  assert.equal(outcome.ok, true, outcome.message);
  const review = slhf.reviewState();
  assert.ok(review);
  assert.equal((await run('slhf.acceptRefinement')).ok, true);
  const chosen = review.rounds[review.shown];
  const start = before.length;
  // The user types at the end of the accepted text and elsewhere in the document.
  const { document } = editor;
  await editDocument(document, (edit, uri) => edit.insert(uri, document.positionAt(start + eol(chosen).length), ' (edited)'));
  await editDocument(document, (edit, uri) => edit.insert(uri, new vscode.Position(0, 0), '# '));
  await slhf.finishEditWatches();
  const session = await storedSession(outcome.sessionId);
  assert.deepEqual(session.decision.kind === 'accepted-edited' && [session.decision.round, eol(session.decision.finalText)], [review.shown, eol(`${chosen} (edited)`)]);
  await closeAllEditors();
});

test('Reject keeps the original text and records the original as preferred', async () => {
  const slhf = await api();
  const editor = await editorWith(before + draft + after, draft);
  const outcome = await run('slhf.refineSelection');
  assert.equal(outcome.ok, true, outcome.message);
  assert.equal((await run('slhf.rejectRefinement')).ok, true);
  assert.equal(textOf(editor.document), eol(before + draft + after));
  assert.equal(slhf.reviewState(), undefined);
  assert.equal(reviewDiffTabs().length, 0);
  assert.equal((await storedSession(outcome.sessionId)).decision.kind, 'rejected');
  assert.equal((await run('slhf.acceptRefinement')).ok, false, 'nothing left to accept');
  await closeAllEditors();
});

test('with no selection, the paragraph around the cursor is the draft', async () => {
  const editor = await editorWith(`${before}first half of a paragraph\nsecond half${after}`);
  editor.selection = new vscode.Selection(3, 4, 3, 4);
  const outcome = await run('slhf.refineSelection');
  assert.equal(outcome.ok, true, outcome.message);
  assert.equal((await storedSession(outcome.sessionId)).draft.text, 'first half of a paragraph\nsecond half');
  assert.equal((await run('slhf.rejectRefinement')).ok, true);
  await closeAllEditors();
});

test('Retry refines the same text again and leaves the first session undecided', async () => {
  const slhf = await api();
  const editor = await editorWith(before + draft + after, draft);
  const first = await run('slhf.refineSelection');
  assert.equal(first.ok, true, first.message);
  const retried = await run('slhf.retryRefinement');
  assert.equal(retried.ok, true, retried.message);
  const review = slhf.reviewState();
  assert.ok(review && review.sessionId !== first.sessionId, 'a new review is open');
  assert.equal((await storedSession(review.sessionId)).draft.text, draft);
  assert.equal((await storedSession(first.sessionId)).decision.kind, 'pending');
  assert.equal(reviewDiffTabs().length, 1);
  assert.equal((await run('slhf.rejectRefinement')).ok, true);
  assert.equal(textOf(editor.document), eol(before + draft + after));
  await closeAllEditors();
});

test('a stored session re-opens in the diff editor from the History tab', async () => {
  const slhf = await api();
  await editorWith(before + draft + after, draft);
  const outcome = await run('slhf.refineSelection');
  assert.equal(outcome.ok, true, outcome.message);
  const review = slhf.reviewState();
  assert.ok(review);
  assert.equal((await run('slhf.acceptRefinement')).ok, true);
  // Left untouched, the acceptance stands once the watch over it ends.
  await slhf.finishEditWatches();
  const stored = await storedSession(outcome.sessionId);
  assert.deepEqual(stored.decision.kind === 'accepted' && stored.decision.round, review.shown);
  await closeAllEditors();
  await slhf.receivePanelMessage({ type: 'reopenSession', id: outcome.sessionId });
  const [tab] = reviewDiffTabs();
  assert.ok(tab, 'no diff opened');
  assert.equal(textOf(await vscode.workspace.openTextDocument(tab.original)), eol(draft));
  assert.equal(textOf(await vscode.workspace.openTextDocument(tab.modified)), eol(review.rounds[review.shown]));
  await closeAllEditors();
});
