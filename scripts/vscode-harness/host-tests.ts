// Runs the in-host tests (test/vscode/host) inside code-server's extension host: bundles them, opens
// the workbench with the extension under development and the tests in its payload, and waits for
// the exit code VS Code reports through the smoke-test driver's window.codeAutomationExit.
import * as esbuild from 'esbuild';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium, newWorkbenchPage } from './browser';
import { repoRoot, startCodeServer } from './code-server';

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
  const reportFile = join(scratch, 'report.txt');
  const readReport = (): string => (existsSync(reportFile) ? readFileSync(reportFile, 'utf8') : '');
  const exitCode = await runInExtensionHost({
    workspace, extensionPath: repoRoot, testsPath: await bundleHostTests(scratch), timeoutMs: options.timeoutMs,
    workspaceTrust: true, userSettings: options.userSettings, machineSettings: options.machineSettings,
    env: { SLHF_HOST_TEST_REPORT: reportFile }, progress: () => `report so far:\n${readReport()}`,
  });
  return { exitCode, report: readReport() };
}

export interface ExtensionHostRun {
  workspace: string;
  /** The extension under development. */
  extensionPath: string;
  /** The bundled entry VS Code runs as extensionTestsPath; it ends the run through its exit code. */
  testsPath: string;
  /** How long to wait for the exit code (default 120 s). */
  timeoutMs?: number;
  workspaceTrust?: boolean;
  userSettings?: Record<string, unknown>;
  machineSettings?: Record<string, unknown>;
  env?: Record<string, string>;
  /** Extra text for the timeout error (e.g. what the entry reported so far). */
  progress?: () => string;
}

/**
 * Starts a fresh code-server, opens the workbench with `extensionPath` under development and runs
 * `testsPath` in its extension host; resolves with the exit code VS Code reports through the
 * smoke-test driver's window.codeAutomationExit. Everything it started is stopped before it returns.
 */
export async function runInExtensionHost(run: ExtensionHostRun): Promise<number> {
  const timeoutMs = run.timeoutMs ?? 120_000;
  const server = await startCodeServer({ smokeTestDriver: true, workspaceTrust: run.workspaceTrust, userSettings: run.userSettings, machineSettings: run.machineSettings, env: run.env });
  let browser: Browser | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    browser = await launchChromium();
    const page = await newWorkbenchPage(browser);
    const exitCode = new Promise<number>((resolveExit) => void page.exposeFunction('codeAutomationExit', (code: number) => resolveExit(code)));
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the extension host gave no exit code within ${timeoutMs} ms.\n${run.progress?.() ?? ''}\ncode-server log:\n${server.logTail()}`)), timeoutMs);
    });
    const outcome = (async () => {
      await page.goto(server.workbenchUrl(run.workspace, { extensionDevelopmentPath: run.extensionPath, extensionTestsPath: run.testsPath }));
      return exitCode;
    })();
    // Whichever promise loses the race below may reject later, once the browser is closed.
    outcome.catch(() => undefined);
    return await Promise.race([outcome, timeout]);
  } finally {
    clearTimeout(timer);
    await browser?.close();
    await server.stop();
  }
}
