// Starts code-server (a real VS Code, served to a browser) isolated from the user's own setup: its
// own port on 127.0.0.1, user-data, extensions, HOME and XDG folders, all in one temp folder that
// stop() removes.
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureToolchain } from './install';
import { freePort, spawnGroup } from './processes';

/** This repository: the extension the harness loads. */
export const repoRoot = resolve(__dirname, '..', '..');

export interface CodeServerOptions {
  /** Leave workspace trust on (the default turns it off, so no trust prompt covers the UI). */
  workspaceTrust?: boolean;
  /** Lets a test page receive the extension tests' exit code through window.codeAutomationExit. */
  smokeTestDriver?: boolean;
  /** Extra environment for code-server and so for the extension host. */
  env?: Record<string, string>;
  /** Extension folders (with package.json) to install by linking them into the extensions folder. */
  installExtensions?: string[];
  /** The port to listen on; a free one when absent. */
  port?: number;
  /** Written as the isolated profile's user settings.json before VS Code starts. */
  userSettings?: Record<string, unknown>;
  /**
   * Written as the server machine's settings.json (code-server's remote user settings). Settings
   * with machine or machine-overridable scope (model paths) belong here: code-server drops them
   * from the User settings once any user setting changes.
   */
  machineSettings?: Record<string, unknown>;
}

export interface CodeServer {
  readonly origin: string;
  /** The isolated profile (logs, settings, global storage); removed by stop(). */
  readonly userDataDir: string;
  /** code-server's own output, for error messages. */
  logTail(): string;
  /** The workbench URL for `folder`, optionally with the extension loaded from `extensionDevelopmentPath`. */
  workbenchUrl(folder: string, dev?: { extensionDevelopmentPath: string; extensionTestsPath?: string }): string;
  /** Resolves with code-server's exit code or signal if it exits on its own. */
  readonly exited: Promise<number | string>;
  stop(): Promise<void>;
}

async function waitForHealth(origin: string, exited: Promise<number | string>, log: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitedWith: number | string | undefined;
  void exited.then((code) => (exitedWith = code));
  while (Date.now() < deadline) {
    if (exitedWith !== undefined) throw new Error(`code-server exited (${exitedWith}) before it was ready:\n${log()}`);
    try {
      if ((await fetch(`${origin}/healthz`)).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`code-server was not ready within ${timeoutMs} ms:\n${log()}`);
}

export async function startCodeServer(options: CodeServerOptions = {}): Promise<CodeServer> {
  const { node, codeServerEntry } = await ensureToolchain();
  const root = mkdtempSync(join(tmpdir(), 'slhf-code-server-'));
  const dirs = Object.fromEntries(['home', 'user-data', 'extensions', 'config', 'cache', 'data'].map((name) => [name, join(root, name)]));
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  for (const folder of options.installExtensions ?? []) {
    const manifest = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string };
    symlinkSync(folder, join(dirs.extensions, `${manifest.publisher}.${manifest.name}-${manifest.version}`), 'dir');
  }
  for (const [folder, settings] of [['User', options.userSettings], ['Machine', options.machineSettings]] as const) {
    if (!settings) continue;
    mkdirSync(join(dirs['user-data'], folder), { recursive: true });
    writeFileSync(join(dirs['user-data'], folder, 'settings.json'), JSON.stringify(settings, null, 2));
  }
  const port = options.port ?? (await freePort());
  const host = '127.0.0.1';
  const configFile = join(root, 'config.yaml');
  writeFileSync(configFile, `bind-addr: ${host}:${port}\nauth: none\ncert: false\ndisable-telemetry: true\ndisable-update-check: true\n`);
  const logFile = join(root, 'code-server.log');
  const logFd = openSync(logFile, 'a');
  const args = [
    codeServerEntry,
    '--config', configFile,
    '--user-data-dir', dirs['user-data'],
    '--extensions-dir', dirs.extensions,
    // The default lets extension hosts of closed pages linger for hours. 5 s was too short: on a
    // loaded machine the page missed heartbeats for longer, code-server ended the extension host
    // mid-test and the run reported exit code 0 with half a report. stop() ends everything anyway.
    '--reconnection-grace-time', '60',
    '--disable-getting-started-override',
    ...(options.workspaceTrust ? [] : ['--disable-workspace-trust']),
    ...(options.smokeTestDriver ? ['--vscode-option', 'enable-smoke-test-driver'] : []),
  ];
  const server = spawnGroup(node, args, {
    stdio: ['ignore', logFd, logFd],
    env: {
      ...process.env,
      HOME: dirs.home,
      XDG_CONFIG_HOME: dirs.config,
      XDG_CACHE_HOME: dirs.cache,
      XDG_DATA_HOME: dirs.data,
      // Loader flags of the process running the tests (tsx) must not leak into code-server's Node.
      NODE_OPTIONS: '',
      ...options.env,
    },
  }, () => rmSync(root, { recursive: true, force: true }));
  closeSync(logFd);
  const origin = `http://${host}:${port}`;
  const logTail = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n') : '(log removed)');
  const stop = (): Promise<void> => server.stop();
  try {
    await waitForHealth(origin, server.exited, logTail, 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  const remote = (path: string): string => `vscode-remote://${host}:${port}${path}`;
  return {
    origin,
    userDataDir: dirs['user-data'],
    logTail,
    exited: server.exited,
    stop,
    workbenchUrl(folder, dev) {
      const query = new URLSearchParams({ folder });
      if (dev) {
        const payload: [string, string][] = [['extensionDevelopmentPath', remote(dev.extensionDevelopmentPath)]];
        if (dev.extensionTestsPath) payload.push(['extensionTestsPath', remote(dev.extensionTestsPath)]);
        query.set('payload', JSON.stringify(payload));
      }
      return `${origin}/?${query.toString()}`;
    },
  };
}

/** The extension's own log (the "SLHF" output channel) under a code-server's user data, for failure reports. */
export function slhfLogOf(userDataDir: string): string {
  const logs = (readdirSync(join(userDataDir, 'logs'), { recursive: true }) as string[]).filter((file) => /SLHF\.log$/.test(file));
  return logs.map((file) => `--- ${file}\n${readFileSync(join(userDataDir, 'logs', file), 'utf8')}`).join('\n');
}
