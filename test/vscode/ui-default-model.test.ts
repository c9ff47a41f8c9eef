// The editor experience with no model configured: the extension falls back to the embedded tiny
// default refiner (assets/default-model), says so in the SLHF panel, and makes a real fix.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, newWorkbenchPage, openWorkbench, runFromCommandPalette, webviewContent } from '../../scripts/vscode-harness/browser';
import { repoRoot, startCodeServer, type CodeServer } from '../../scripts/vscode-harness/code-server';
import { ensureToolchain } from '../../scripts/vscode-harness/install';

let root: string;
let workspace: string;
let server: CodeServer | undefined;
let browser: Browser | undefined;
let page: Page;

before(async () => {
  await ensureToolchain();
  root = mkdtempSync(join(tmpdir(), 'slhf-ui-default-'));
  workspace = join(root, 'workspace');
  mkdirSync(workspace, { recursive: true });
  writeFileSync(join(workspace, 'notes.txt'), 'teh dog ran to the park.\n');
  server = await startCodeServer({
    installExtensions: [repoRoot],
    machineSettings: { 'slhf.modelCacheDir': join(root, 'model-cache') },
    // No temperature: the built-in model's generation_config.json asks for greedy decoding.
    userSettings: { 'slhf.refine.rounds': 1, 'workbench.startupEditor': 'none' },
  });
  browser = await launchChromium();
  page = await newWorkbenchPage(browser);
  await openWorkbench(page, server.workbenchUrl(workspace));
  await page.locator('.activitybar .action-item a[aria-label^="SLHF"]').waitFor();
}, { timeout: 15 * 60_000 });

after(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

test('with no model configured, the built-in refiner (Harper\'s first pass, then the tiny model) turns "teh" into "the" and the panel says it is a tiny demo model', async () => {
  try {
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input').fill('notes.txt');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'notes.txt' }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.editor-group-container.active .view-line', { hasText: 'teh dog' }).click();
    await page.keyboard.press('Home');
    await page.keyboard.press('Shift+End');
    await runFromCommandPalette(page, 'SLHF: Refine Selection', { keepFocus: true });
    const diffTab = page.locator('.tabs-container .tab', { hasText: 'SLHF: Original ↔ Round' });
    // The first refinement waits for Harper to load its dictionary (seconds; minutes under heavy load).
    await diffTab.waitFor({ timeout: 240_000 });
    const accept = page.locator('.editor-actions .action-item a[aria-label^="Accept Refinement"]');
    await accept.click();
    await diffTab.waitFor({ state: 'detached' });
    await page.locator('.editor-group-container.active .view-line', { hasText: 'teh dog' }).waitFor({ state: 'detached' });
    const line = await page.locator('.editor-group-container.active .view-line').first().innerText();
    // The editor renders spaces as non-breaking spaces.
    assert.match(line.replace(/\u00a0/g, ' '), /^The dog ran to the park\.$/);
    await page.locator('.activitybar .action-item a[aria-label^="SLHF"]').click();
    const panel = webviewContent(page);
    await panel.locator('vscode-tab-header[data-tab="models"]').click();
    const models = panel.locator('#models');
    await models.getByText('tiny demo model').first().waitFor();
    assert.match(await models.innerText(), /Qwen\/Qwen2\.5-0\.5B-Instruct/);
  } catch (error) {
    mkdirSync(join(repoRoot, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(repoRoot, 'test-results', 'ui-default-model-failure.png') }).catch(() => undefined);
    if (server) console.log(readFileSync(join(server.userDataDir, 'User', 'settings.json'), 'utf8'));
    throw error;
  }
});
