// Layer 3: the inline review in a real VS Code (code-server + Chromium), on the built-in model (no
// model configured; greedy, so its fixes are the same every run): per-change Accept/Reject from the
// CodeLens rows in the source editor, the proposal edited in the side-by-side diff before Accept, and
// a damaged proposal that Accept asks about (the safe answer is the default), with the Harper guard's
// warning. Each test checks the document against the decision in the store.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { launchChromium, newWorkbenchPage, openWorkbench, runFromCommandPalette, saveScreenshot } from '../../scripts/vscode-harness/browser';
import { repoRoot, slhfLogOf, startCodeServer, type CodeServer } from '../../scripts/vscode-harness/code-server';
import { ensureToolchain } from '../../scripts/vscode-harness/install';
import type { SessionRecord } from '../../src/store/schema';
import { PreferenceStore } from '../../src/store/store';
import { composeText, computeHunks, type HunkChoice } from '../../src/ui/hunks';

const resultsDir = join(repoRoot, 'test-results');
const lines = {
  twoFixes: 'teh cat sat on the the mat.',
  toEdit: 'teh dog ran to the park.',
  toDamage: 'Our new release fixes many bugs and makes the editor faster for everyone.',
};
let root: string;
let workspace: string;
let server: CodeServer | undefined;
let browser: Browser | undefined;
let page: Page;

before(async () => {
  await ensureToolchain();
  root = mkdtempSync(join(tmpdir(), 'slhf-ui-review-'));
  workspace = join(root, 'workspace');
  mkdirSync(workspace, { recursive: true });
  writeFileSync(join(workspace, 'notes.txt'), `${lines.twoFixes}\n\n${lines.toEdit}\n\n${lines.toDamage}\n`);
  server = await startCodeServer({
    installExtensions: [repoRoot],
    machineSettings: { 'slhf.modelCacheDir': join(root, 'model-cache') },
    // The in-place review alone (the side-by-side diff opens from its button), one round.
    userSettings: { 'slhf.refine.rounds': 1, 'slhf.review.sideBySide': false, 'workbench.startupEditor': 'none', 'workbench.secondarySideBar.defaultVisibility': 'hidden' },
  });
  browser = await launchChromium();
  page = await newWorkbenchPage(browser);
  await openWorkbench(page, server.workbenchUrl(workspace));
  await page.locator('.activitybar .action-item a[aria-label^="SLHF"]').waitFor();
  // Room for the document and the diff beside it: no side bars (the secondary one, Chat, stays hidden by a setting).
  await runFromCommandPalette(page, 'View: Close Primary Side Bar');
  await page.keyboard.press('Control+P');
  await page.locator('.quick-input-widget input').fill('notes.txt');
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'notes.txt' }).first().waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.editor-group-container.active .view-line', { hasText: 'teh cat' }).waitFor();
}, { timeout: 15 * 60_000 });

after(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

function screenshot(name: string): Promise<void> {
  return saveScreenshot(page, resultsDir, name);
}

function slhfLog(): string {
  return server ? slhfLogOf(server.userDataDir) : '';
}

function uiTest(name: string, fn: () => Promise<void>): void {
  test(name, { timeout: 6 * 60_000 }, async () => {
    try {
      await fn();
    } catch (error) {
      await screenshot(`ui-review-failure-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 50)}.png`).catch(() => undefined);
      console.log(slhfLog());
      throw error;
    }
  });
}

/** The source editor (group 1: the diff, when open, is beside it). */
function sourceEditor(): Locator {
  return page.locator('.editor-group-container').first();
}

function lens(text: string | RegExp): Locator {
  return sourceEditor().locator('.codelens-decoration a', { hasText: text });
}

/** The text of the editor line that contains `text` (the editor renders spaces as non-breaking ones). */
async function lineWith(text: string): Promise<string> {
  const line = sourceEditor().locator('.view-line', { hasText: text }).first();
  return (await line.innerText()).replace(/\u00a0/g, ' ');
}

async function refineLine(text: string): Promise<void> {
  // The previous review's lenses linger until the editor next asks for lenses: waiting for the new
  // review's lens while one of them is still there would go on at once (and click a stale lens).
  await lens(/Accept (All|Rest)/).first().waitFor({ state: 'detached' });
  await sourceEditor().locator('.view-line', { hasText: text }).first().click();
  await page.keyboard.press('Home');
  await page.keyboard.press('Shift+End');
  await runFromCommandPalette(page, 'SLHF: Refine Selection', { keepFocus: true });
  await lens(/Accept (All|Rest)/).waitFor({ timeout: 180_000 });
}

/** The newest session of `draft` once it is decided (as `kind`, when given; decisions are written asynchronously). */
async function decided(draft: string, kind?: string): Promise<SessionRecord> {
  const folder = join(server!.userDataDir, 'User', 'globalStorage', 'slhf-refine.slhf-refine');
  for (let i = 0; ; i++) {
    const store = await PreferenceStore.open(folder);
    const session = (await store.list({ text: draft })).items.find((s) => s.draft.text === draft);
    if (session && session.decision.kind !== 'pending' && (kind === undefined || session.decision.kind === kind)) return session;
    if (i >= 100) assert.fail(`no ${kind ?? ''} decision was stored for "${draft}" (${session ? session.decision.kind : 'no session'})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

uiTest('Accept one of two changes from its CodeLens: the document keeps exactly that change and the store records it as the final text', async () => {
  await refineLine(lines.twoFixes);
  await lens('Accept 2').waitFor();
  await screenshot('ui-review-inline.png');
  await lens('Accept 1').click();
  await lens('Accepted 1').waitFor();
  await lens('Reject Rest').waitFor();
  await screenshot('ui-review-hunk-accepted.png');
  // Reject the rest from the keyboard: the choices are applied together, in one edit.
  await page.keyboard.press('Control+Alt+N');
  await lens(/Accept (All|Rest)/).waitFor({ state: 'detached' });
  const session = await decided(lines.twoFixes);
  const round = session.rounds[0].text;
  const hunks = computeHunks(lines.twoFixes, round);
  assert.ok(hunks.length >= 2, `the built-in model's round "${round}" has ${hunks.length} change(s); this test needs two`);
  const kept = composeText(lines.twoFixes, hunks, new Map<number, HunkChoice>([[0, 'accepted']]), 'rejected');
  assert.notEqual(kept, round);
  assert.notEqual(kept, lines.twoFixes);
  assert.deepEqual(session.decision.kind === 'accepted-edited' && [session.decision.round, session.decision.finalText], [0, kept]);
  assert.equal(await lineWith(kept.slice(0, 10)), kept, 'the document holds what the store says was kept');
  await page.locator('.notifications-toasts .notification-toast', { hasText: 'Undo (Ctrl+Z) reverts it' }).first().waitFor();
  await screenshot('ui-review-hunk-applied.png');
  // One Ctrl+Z takes the partial acceptance back, recorded at once as an undo of that round.
  await sourceEditor().locator('.view-line', { hasText: kept.slice(0, 10) }).first().click();
  await page.keyboard.press('Control+Z');
  await sourceEditor().locator('.view-line', { hasText: lines.twoFixes }).first().waitFor();
  const undone = await decided(lines.twoFixes, 'undone');
  assert.equal(undone.decision.kind === 'undone' && undone.decision.round, 0);
});

uiTest('The proposal is edited in the side-by-side diff before Accept: the edited text is applied and stored as accepted-edited', async () => {
  await refineLine(lines.toEdit);
  await lens('Side by Side').click();
  const diff = page.locator('.monaco-diff-editor').first();
  await diff.waitFor();
  // The proposal side takes typing (it said "Cannot edit in read-only editor" before).
  await diff.locator('.editor.modified .view-lines:not(.line-delete)').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type(' It was sunny.');
  await sourceEditor().locator('.codelens-decoration', { hasText: '(edited)' }).first().waitFor();
  await screenshot('ui-review-edit-proposal.png');
  await page.keyboard.press('Control+Alt+Y');
  await diff.waitFor({ state: 'detached' });
  const session = await decided(lines.toEdit);
  const final = `${session.rounds[0].text} It was sunny.`;
  assert.deepEqual(session.decision.kind === 'accepted-edited' && [session.decision.round, session.decision.finalText], [0, final]);
  assert.equal(await lineWith('It was sunny.'), final);
});

uiTest('A proposal that deletes most of the text is flagged (with Harper\'s new lints) and Accept asks first, keeping the text by default', async () => {
  await refineLine(lines.toDamage);
  // A damaged round, made by hand in the proposal (the refiner's own guard now replaces the built-in
  // model's garbled sentences with their input): most words gone, and a misspelling.
  await lens('Side by Side').click();
  const diff = page.locator('.monaco-diff-editor').first();
  await diff.locator('.editor.modified .view-lines:not(.line-delete)').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.type('Our relese fixs bugs.');
  await lens(/deletes \d+% of the words/).waitFor();
  // Harper loads in the background (seconds; longer on a busy machine); its warning joins the flags.
  await lens(/Harper: \d+ new issue/).waitFor({ timeout: 180_000 });
  await screenshot('ui-review-flagged.png');
  await page.keyboard.press('Control+Alt+Y');
  const dialog = page.locator('.monaco-dialog-box', { hasText: 'This round may have damaged your text' });
  await dialog.waitFor();
  assert.match(await dialog.innerText(), /deletes \d+% of the words/);
  await screenshot('ui-review-flagged-dialog.png');
  // Enter takes the default button: Keep Reviewing. Nothing is applied and the review stays open.
  await page.keyboard.press('Enter');
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await lineWith('Our new release'), lines.toDamage);
  await lens(/Accept (All|Rest)/).waitFor();
  // Asked again, Apply Anyway applies the proposal as edited.
  await page.keyboard.press('Control+Alt+Y');
  await dialog.getByRole('button', { name: 'Apply Anyway' }).click();
  const session = await decided(lines.toDamage);
  assert.deepEqual(session.decision.kind === 'accepted-edited' && session.decision.finalText, 'Our relese fixs bugs.');
  assert.equal(await lineWith('Our relese'), 'Our relese fixs bugs.');
});
