// Layer 3: UI tests of issue 19's onboarding path, in one code-server with no model configured, as a
// new user meets it: the walkthrough's first step on the built-in model, Train waiting for decisions,
// the model picker's download from a local stand-in for the Hugging Face hub (progress, Cancel, then
// success), training with the new version offered for activation, and switching the Follower model
// after training (no error; the old version is not applied; the panel says so).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { launchChromium, newWorkbenchPage, openWorkbench, runFromCommandPalette, webviewContent, saveScreenshot, notificationToast } from '../../scripts/vscode-harness/browser';
import { repoRoot, slhfLogOf, startCodeServer, type CodeServer } from '../../scripts/vscode-harness/code-server';
import { ensureToolchain } from '../../scripts/vscode-harness/install';
import { makeTinyModel } from '../../src/models/tiny-models/tiny-model';
import { FakeHub } from '../unit/models/hub-server';

const resultsDir = join(repoRoot, 'test-results');
const HUB_MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';
let root: string;
let server: CodeServer | undefined;
let browser: Browser | undefined;
let hub: FakeHub | undefined;
let weightsBytes = 0;
let page: Page;

before(async () => {
  await ensureToolchain();
  root = mkdtempSync(join(tmpdir(), 'slhf-ui-picker-'));
  const workspace = join(root, 'workspace');
  cpSync(join(repoRoot, 'media', 'sample-workspace'), workspace, { recursive: true });
  // The hub serves a tiny fixture under the recommended model's name: a real download, kilobytes to
  // a few megabytes, in the hub's protocol (HEAD, LFS redirect to a CDN, ranges).
  const model = await makeTinyModel({ arch: 'qwen2', tokenizer: 'bytes', out: join(root, 'hub-model'), layers: 2, hidden: 128, heads: 4, kvHeads: 2, intermediate: 256, seed: 7 });
  const files = new Map(readdirSync(model.dir).map((f) => [f, readFileSync(join(model.dir, f))]));
  weightsBytes = files.get('model.safetensors')?.length ?? 0;
  hub = await new FakeHub().start();
  hub.repos.set(HUB_MODEL, { files, lfs: (f) => f.endsWith('.safetensors') });
  server = await startCodeServer({
    installExtensions: [repoRoot],
    env: { HF_ENDPOINT: hub.hubUrl, HF_HUB_CACHE: join(root, 'hub-cache') },
    machineSettings: { 'slhf.modelCacheDir': join(root, 'model-cache') },
    // Fixture rounds are random text, which the review's flags would catch on every Accept.
    // No chat view beside the editors: the screenshots are for the docs.
    userSettings: {
      'slhf.refine.rounds': 1, 'slhf.refine.maxNewTokens': 32, 'slhf.review.confirmFlagged': false, 'workbench.startupEditor': 'none',
      'chat.disableAIFeatures': true, 'workbench.secondarySideBar.defaultVisibility': 'hidden',
    },
  });
  browser = await launchChromium();
  page = await newWorkbenchPage(browser);
  // Under load (seven sessions on two cores) the first workbench load took over 30 s.
  page.setDefaultNavigationTimeout(180_000);
  await openWorkbench(page, server.workbenchUrl(workspace));
  await page.locator('.activitybar .action-item a[aria-label^="SLHF"]').waitFor();
}, { timeout: 15 * 60_000 });

after(async () => {
  await browser?.close();
  await server?.stop();
  await hub?.stop();
  rmSync(root, { recursive: true, force: true });
});

function notification(text: string | RegExp): Locator {
  return notificationToast(page, text);
}

function screenshot(name: string): Promise<void> {
  return saveScreenshot(page, resultsDir, name);
}

function slhfLog(): string {
  return server ? slhfLogOf(server.userDataDir) : '';
}

/** The tests build on each other (one user's first session); a failure stops the rest. */
let failed = false;
function uiTest(name: string, fn: () => Promise<void>, timeoutMs = 5 * 60_000): void {
  test(name, { timeout: timeoutMs }, async (t) => {
    if (failed) return t.skip('an earlier step failed');
    try {
      await fn();
    } catch (error) {
      failed = true;
      await screenshot(`ui-failure-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}.png`).catch(() => undefined);
      console.log(slhfLog());
      throw error;
    }
  });
}

/** The SLHF panel on `tab`, opened from the activity bar when it is not showing (a click there would hide it). */
async function openPanelTab(tab: 'history' | 'models' | 'training') {
  const panel = webviewContent(page);
  const header = panel.locator(`vscode-tab-header[data-tab="${tab}"]`);
  if (!(await header.isVisible().catch(() => false))) await page.locator('.activitybar .action-item a[aria-label^="SLHF"]').click();
  await header.click();
  return panel;
}

/** The walkthrough step whose id ends with `#id`, and its check mark once it ticked. */
function walkthroughStep(id: string): Locator {
  return page.locator(`.getting-started-step[data-step-id$="#${id}"]`);
}
function walkthroughTick(id: string): Locator {
  return page.locator(`[data-done-step-id$="#${id}"].complete`);
}

async function openWalkthrough(): Promise<void> {
  await runFromCommandPalette(page, 'Welcome: Open Walkthrough...');
  await page.locator('.quick-input-widget input').fill('SLHF');
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Get started with SLHF Refine' }).first().click();
}

/** Closes the walkthrough: its markdown is a second webview, beside the SLHF panel's. */
async function closeWalkthrough(): Promise<void> {
  const tab = page.locator('.tabs-container .tab', { hasText: 'Welcome' });
  await tab.click({ button: 'middle' });
  await tab.waitFor({ state: 'detached' });
}

/** Accept or Reject in the review's diff title bar (the palette's first row may be another review command). */
async function decideInTitleBar(diffTab: Locator, action: 'Accept Refinement' | 'Reject Refinement'): Promise<void> {
  const button = page.locator(`.editor-actions .action-item a[aria-label^="${action}"]`);
  // The review's actions appear once it is open, which waits for its grammar guard (Harper) to load
  // on the first review: 40 s under this machine's load.
  await button.waitFor({ timeout: 180_000 });
  await button.click();
  await diffTab.waitFor({ state: 'detached' });
}
/** Accept, and wait until it ended: it writes the decision, then shows the document (moving focus). */
async function acceptInTitleBar(diffTab: Locator): Promise<void> {
  await decideInTitleBar(diffTab, 'Accept Refinement');
  await notification('SLHF: Applied round').waitFor();
}

uiTest('Train waits for decisions: disabled with none, and says why', async () => {
  const panel = await openPanelTab('training');
  await panel.locator('#train-note', { hasText: 'Nothing to train on yet' }).waitFor();
  assert.ok(await panel.locator('vscode-button[data-command="slhf.trainFollower"]').evaluate((b) => b.hasAttribute('disabled')), 'Train is disabled');
  await screenshot('ui-picker-train-disabled-empty.png');
});

uiTest('the walkthrough starts with the built-in model on a sample sentence, and its steps tick when done', async () => {
  await openWalkthrough();
  const first = walkthroughStep('try');
  await first.waitFor();
  assert.equal(await walkthroughTick('try').count(), 0, 'the first step starts unticked');
  await screenshot('ui-walkthrough-start.png');
  await page.locator('.getting-started-step a, .getting-started-step .monaco-button', { hasText: 'Refine a Sample Sentence' }).first().click();
  // The built-in model refines the sample sentence; the review opens on it.
  const diffTab = page.locator('.tabs-container .tab', { hasText: 'SLHF: Original ↔ Round' });
  await diffTab.waitFor({ timeout: 120_000 });
  await screenshot('ui-walkthrough-sample-review.png');
  await acceptInTitleBar(diffTab);
  // Back on the walkthrough: the first two steps ticked (a refinement was recorded and decided).
  await openWalkthrough();
  await walkthroughTick('try').waitFor();
  await walkthroughTick('review').waitFor();
  assert.equal(await walkthroughTick('models').count(), 0, 'no real model yet');
  await screenshot('ui-walkthrough-ticked.png');
  await closeWalkthrough();
}, 6 * 60_000);

uiTest('the model picker downloads a recommended model with progress; Cancel stops it, the next download resumes and selects it', async () => {
  // The weights stall halfway (the connection stays open) until the test lets them go.
  hub!.faults.dropAfter.set('model.safetensors', Math.floor(weightsBytes / 2));
  const panel = await openPanelTab('models');
  await panel.locator('#model-settings', { hasText: 'built-in tiny demo model (the default)' }).waitFor();
  await panel.locator('vscode-button[data-command="slhf.selectModels"]').click();
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'A local model folder' }).waitFor();
  await screenshot('ui-picker-choices.png');
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: HUB_MODEL }).first().click();
  const progress = notification(`SLHF: Downloading ${HUB_MODEL}`);
  await progress.locator('text=/model\\.safetensors: \\d+% \\([\\d.]+ of [\\d.]+ MB\\)/').waitFor({ timeout: 60_000 });
  await panel.locator('#models-status', { hasText: /Downloading .*model\.safetensors: \d+%/ }).waitFor();
  await screenshot('ui-picker-download-progress.png');
  await progress.hover();
  await progress.locator('.monaco-button', { hasText: 'Cancel' }).click();
  await notification(/Download of .* cancelled; the Follower model is unchanged/).waitFor();
  await panel.locator('#models-status', { hasText: 'cancelled; the Follower model is unchanged' }).waitFor();
  await panel.locator('#model-settings', { hasText: 'built-in tiny demo model (the default)' }).waitFor();
  await screenshot('ui-picker-download-cancelled.png');
  // Again: it resumes from the kept bytes and selects the model.
  hub!.releaseDrop();
  hub!.log.length = 0;
  await panel.locator('vscode-button[data-command="slhf.selectModels"]').click();
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: HUB_MODEL }).first().click();
  await panel.locator('#models-status', { hasText: `The Follower model is now ${HUB_MODEL}` }).waitFor({ timeout: 60_000 });
  assert.ok(hub!.log.some((r) => r.server === 'cdn' && r.range !== null), 'the second download resumed with a Range request');
  await panel.locator('#model-settings', { hasText: `Follower ${HUB_MODEL} (from the user settings)` }).waitFor();
  // code-server is a remote window: the user-target write of this machine-overridable setting went to
  // the server machine's settings, where it applies, not to the browser-side User settings.
  const settingsOf = (folder: string) => JSON.parse(readFileSync(join(server!.userDataDir, folder, 'settings.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(settingsOf('Machine')['slhf.follower.model'], HUB_MODEL);
  assert.equal(settingsOf('User')['slhf.follower.model'], undefined);
  await screenshot('ui-picker-download-done.png');
  // The walkthrough's "real model" step ticked.
  await openWalkthrough();
  await walkthroughTick('models').waitFor();
  await closeWalkthrough();
});

uiTest('Train offers the new version with its evaluation; Activate switches to it; then Train waits for new decisions', async () => {
  const panel = await openPanelTab('training');
  const train = panel.locator('vscode-button[data-command="slhf.trainFollower"]');
  await panel.locator('#train-note', { hasText: '1 decision(s) to train on' }).waitFor();
  await train.click();
  const offer = notification(/v0001 trained on \d+ decisions: .*Activate it\?/);
  await offer.waitFor({ timeout: 240_000 });
  await panel.locator('#training-status', { hasText: /v0001 trained on .*Not active yet \(the base model stays active\)/ }).waitFor();
  // Not switched silently: nothing is active until the user says so.
  await panel.locator('#versions li[data-version="v0001"]:not(.active)').waitFor();
  await screenshot('ui-training-offer.png');
  await offer.hover();
  await offer.locator('.monaco-button', { hasText: 'Activate v0001' }).click();
  await panel.locator('#versions li.active[data-version="v0001"]').waitFor();
  await panel.locator('#train-note', { hasText: 'No new decisions since v0001' }).waitFor();
  assert.ok(await train.evaluate((b) => b.hasAttribute('disabled')), 'Train is disabled with no new decisions');
  await screenshot('ui-training-no-new-decisions.png');
}, 6 * 60_000);

uiTest('switching the Follower model after training: refinement works, the old version is not applied, and the panel says which applies', async () => {
  const panel = await openPanelTab('models');
  await panel.locator('vscode-button[data-command="slhf.selectModels"]').click();
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'built-in tiny demo model' }).first().click();
  await notification(/Follower model built-in tiny demo model: no trained version applies/).waitFor();
  await panel.locator('#version-switcher-note', { hasText: /v0001 was trained on .*not applied/ }).waitFor();
  await panel.locator('#model-settings', { hasText: 'built-in tiny demo model' }).waitFor();
  // A refinement on the new model: no error about the adapter's tensors, and its rounds use no version.
  await runFromCommandPalette(page, 'SLHF: Refine a Sample Sentence');
  const diffTab = page.locator('.tabs-container .tab', { hasText: 'SLHF: Original ↔ Round' });
  await diffTab.waitFor({ timeout: 120_000 });
  assert.equal(await page.locator('.notifications-toasts .notification-toast', { hasText: 'refinement failed' }).count(), 0);
  await decideInTitleBar(diffTab, 'Reject Refinement');
  const models = await openPanelTab('models');
  await models.locator('#models dt:text-is("Follower version") + dd', { hasText: 'base model' }).waitFor();
  await screenshot('ui-picker-switched-model.png');
}, 6 * 60_000);

uiTest('a retried refinement stays undecided until History\'s Review… opens it, and Accept there decides it', async () => {
  await runFromCommandPalette(page, 'SLHF: Refine a Sample Sentence');
  const diffTab = page.locator('.tabs-container .tab', { hasText: 'SLHF: Original ↔ Round' });
  await diffTab.waitFor({ timeout: 120_000 });
  // Retry drops this review (its session stays undecided) and refines the same text again; reject that one.
  const retry = page.locator('.editor-actions .action-item a[aria-label^="Retry Refinement"]');
  await retry.waitFor({ timeout: 180_000 });
  await retry.click();
  await diffTab.waitFor({ state: 'detached' });
  await diffTab.waitFor({ timeout: 120_000 });
  await decideInTitleBar(diffTab, 'Reject Refinement');
  const panel = await openPanelTab('history');
  const undecided = panel.locator('li.session[data-decision="pending"]').first();
  await undecided.waitFor();
  const id = await undecided.getAttribute('data-session');
  await undecided.locator('vscode-button[data-action="reopen"]', { hasText: 'Review' }).click();
  await panel.locator('#history-status', { hasText: 'Re-opened for review' }).waitFor();
  await screenshot('ui-history-review-undecided.png');
  await acceptInTitleBar(diffTab);
  await panel.locator(`li.session[data-session="${id}"][data-decision="accepted"]`).waitFor();
}, 6 * 60_000);
