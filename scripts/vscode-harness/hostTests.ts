// Runs the in-host tests (test/vscode/host) inside code-server's extension host: bundles them, opens
// the workbench with the extension under development and the tests in its payload, and waits for
// the exit code VS Code reports through the smoke-test driver's window.codeAutomationExit.
import * as esbuild from 'esbuild';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium, newWorkbenchPage } from './browser';
import { repoRoot, startCodeServer } from './codeServer';

export interface HostTestResult {
  readonly exitCode: number;
  /** The in-host runner's report lines. */
  readonly report: string;
}

async function bundleHostTests(outDir: string): Promise<string> {
  const outfile = join(outDir, 'index.js');
  await esbuild.build({
    entryPoints: [join(repoRoot, 'test', 'vscode', 'host', 'index.ts')],
    outfile, bundle: true, platform: 'node', format: 'cjs', target: 'node20', sourcemap: 'inline',
    external: ['vscode'], logLevel: 'warning',
  });
  return outfile;
}

export interface HostTestOptions {
  /** How long to wait for the exit code (default 120 s). */
  timeoutMs?: number;
  /** The isolated profile's user and machine settings (see CodeServerOptions). */
  userSettings?: Record<string, unknown>;
  machineSettings?: Record<string, unknown>;
}

/** Runs the in-host tests against the built extension (out/extension.js) with `workspace` open. */
export async function runHostTests(workspace: string, options: HostTestOptions = {}): Promise<HostTestResult> {
  if (!existsSync(join(repoRoot, 'out', 'extension.js'))) throw new Error('out/extension.js is missing: run `npm run build` first');
  const scratch = mkdtempSync(join(tmpdir(), 'slhf-host-tests-'));
  try {
    return await runInCodeServer(workspace, scratch, options);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function runInCodeServer(workspace: string, scratch: string, options: HostTestOptions): Promise<HostTestResult> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const reportFile = join(scratch, 'report.txt');
  const readReport = (): string => (existsSync(reportFile) ? readFileSync(reportFile, 'utf8') : '');
  const testsPath = await bundleHostTests(scratch);
  const server = await startCodeServer({ smokeTestDriver: true, workspaceTrust: true, userSettings: options.userSettings, machineSettings: options.machineSettings, env: { SLHF_HOST_TEST_REPORT: reportFile } });
  let browser: Browser | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    browser = await launchChromium();
    const page = await newWorkbenchPage(browser);
    const exitCode = new Promise<number>((resolveExit) => void page.exposeFunction('codeAutomationExit', (code: number) => resolveExit(code)));
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`in-host tests gave no exit code within ${timeoutMs} ms.\nreport so far:\n${readReport()}\ncode-server log:\n${server.logTail()}`)), timeoutMs);
    });
    const outcome = (async () => {
      await page.goto(server.workbenchUrl(workspace, { extensionDevelopmentPath: repoRoot, extensionTestsPath: testsPath }));
      return exitCode;
    })();
    // Whichever promise loses the race below may reject later, once the browser is closed.
    outcome.catch(() => undefined);
    return { exitCode: await Promise.race([outcome, timeout]), report: readReport() };
  } finally {
    clearTimeout(timer);
    await browser?.close();
    await server.stop();
  }
}
