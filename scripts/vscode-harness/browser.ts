// Debian's Chromium driven by playwright-core, and the few workbench gestures the tests share.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type FrameLocator, type Locator, type Page } from 'playwright-core';
import { ensureChromium } from './install';

const chromiumArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

export async function launchChromium(): Promise<Browser> {
  // Playwright starts the browser in its own process group and kills that group on close().
  return chromium.launch({ executablePath: ensureChromium(), args: chromiumArgs, headless: true });
}

export async function newWorkbenchPage(browser: Browser): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(30_000);
  return page;
}

/** Opens the workbench and waits until it has rendered. */
export async function openWorkbench(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.locator('.monaco-workbench .part.activitybar').waitFor();
}

/**
 * Runs a command by its palette label, e.g. 'SLHF: Select Models'. By default it first clicks the
 * workbench to give it focus; `keepFocus` skips that, so an editor's selection survives.
 */
export async function runFromCommandPalette(page: Page, label: string, options: { keepFocus?: boolean } = {}): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  // The palette closes when focus moves, and a command that ended just before may still move it (an
  // Accept shows its document after the diff closed): then open it again, as a user would.
  for (let attempt = 1; ; attempt++) {
    try {
      if (!options.keepFocus) await page.locator('.monaco-workbench').click({ position: { x: 600, y: 400 } });
      await page.keyboard.press('F1');
      await input.fill(`>${label}`, { timeout: 10_000 });
      await page.locator('.quick-input-widget .monaco-list-row', { hasText: label }).first().waitFor({ timeout: 15_000 });
      await input.press('Enter');
      return;
    } catch (error) {
      if (attempt === 3) throw error;
      console.log(`the command palette closed before "${label}" ran (attempt ${attempt}); opening it again`);
      await page.keyboard.press('Escape');
    }
  }
}

/** The content frame of the (single) visible webview. */
export function webviewContent(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
}

/** The workbench's notification toast that shows `text`. */
export function notificationToast(page: Page, text: string | RegExp): Locator {
  return page.locator('.notifications-toasts .notification-toast', { hasText: text });
}

/** Saves a screenshot of the page as `dir/name` and prints where. */
export async function saveScreenshot(page: Page, dir: string, name: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  await page.screenshot({ path: file });
  console.log(`screenshot: ${file}`);
}
