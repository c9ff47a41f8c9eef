// Installs the pieces a real VS Code needs here, once, into a cache folder reused across runs:
// Node 24 and code-server, both from the npm registry (the VS Code download sites are not reachable
// from CI), and Debian's Chromium when it is missing and we are root.
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

export const NODE_VERSION = '24.21.0';
export const CODE_SERVER_VERSION = '4.139.1';
export const CHROMIUM_PATH = process.env.SLHF_CHROMIUM ?? '/usr/bin/chromium';

/** The cache folder: $SLHF_TEST_CACHE, else $XDG_CACHE_HOME/slhf-refine-test, else ~/.cache/slhf-refine-test. */
export function cacheDir(): string {
  if (process.env.SLHF_TEST_CACHE) return process.env.SLHF_TEST_CACHE;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'slhf-refine-test');
}

export interface Toolchain {
  /** The Node 24 binary that runs code-server. */
  node: string;
  /** code-server's entry script, run with `node`. */
  codeServerEntry: string;
}

/**
 * The environment for a package-manager command the harness starts. Everything npm put there for
 * the outer command (`npm test`, `npm start`) is dropped: `npm_config_user_agent` would still name the
 * outer Node (code-server's postinstall reads its Node version from exactly that), `NODE` points at the
 * outer binary, and `npm_config_*` would override the inner install's own settings.
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || key === 'NODE' || key === 'INIT_CWD') continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/**
 * npm's own entry script, so that it can be run by a chosen Node binary (the npm registry's Node
 * packages ship `node` alone). The outer npm names it in npm_execpath; otherwise the `npm` on PATH.
 */
export function npmCliScript(): string {
  const candidates = [process.env.npm_execpath];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || !existsSync(join(dir, 'npm'))) continue;
    const target = realpathSync(join(dir, 'npm'));
    candidates.push(target, join(dirname(target), 'npm-cli.js'), join(dirname(target), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'));
  }
  const found = candidates.find((path) => path && /npm-cli\.js$/.test(path) && existsSync(path));
  if (!found) throw new Error('npm was not found on PATH: install Node.js with npm (https://nodejs.org), then run this again.');
  return found;
}

/**
 * Runs npm's CLI under `nodeBinary` in a clean environment with that Node first on PATH, so npm,
 * node-gyp and every install script see that Node (its version in npm_config_user_agent, its headers
 * through npm_config_nodedir). Prints a line every `heartbeatMs` while it runs: first installs take minutes.
 */
export async function runNpm(nodeBinary: string, args: string[], options: { cwd: string; what: string; heartbeatMs?: number; quiet?: boolean }): Promise<void> {
  const nodeDir = dirname(dirname(nodeBinary));
  const env = childEnv({ PATH: `${dirname(nodeBinary)}${delimiter}${process.env.PATH ?? ''}`, npm_config_nodedir: nodeDir });
  const started = Date.now();
  const child = spawn(nodeBinary, [npmCliScript(), ...args], { cwd: options.cwd, env, stdio: ['ignore', options.quiet ? 'ignore' : 'inherit', 'inherit'] });
  const heartbeat = setInterval(() => console.log(`[vscode-harness] still ${options.what} (${Math.round((Date.now() - started) / 1000)} s)`), options.heartbeatMs ?? 20_000);
  try {
    const status = await new Promise<number | string>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    });
    if (status !== 0) throw new Error(`${options.what} failed: npm ${args.join(' ')} exited with ${status} (output above)`);
  } finally {
    clearInterval(heartbeat);
  }
}

function run(cmd: string, args: string[], options: SpawnSyncOptions = {}): void {
  const result = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], env: childEnv(), ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Builds `final` in a scratch folder and renames it into place, so a killed install never looks done. */
async function installOnce(final: string, marker: string, build: (dir: string) => void | Promise<void>): Promise<void> {
  if (existsSync(join(final, marker))) return;
  const scratch = `${final}.partial-${process.pid}`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  try {
    await build(scratch);
    if (!existsSync(join(scratch, marker))) throw new Error(`install finished without ${marker}`);
    rmSync(final, { recursive: true, force: true });
    renameSync(scratch, final);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function nodePackageName(): string {
  const platform = process.platform === 'win32' ? 'win' : process.platform;
  return `node-${platform}-${process.arch}`;
}

async function installNode(root: string): Promise<string> {
  const dir = join(root, `node-${NODE_VERSION}`);
  await installOnce(dir, join('bin', 'node'), (scratch) => {
    console.log(`[vscode-harness] fetching Node ${NODE_VERSION} from the npm registry into ${dir}`);
    run('npm', ['pack', `${nodePackageName()}@${NODE_VERSION}`, '--pack-destination', scratch, '--silent']);
    const tarball = readdirSync(scratch).find((name) => name.endsWith('.tgz'));
    if (!tarball) throw new Error('npm pack produced no tarball');
    run('tar', ['-xzf', join(scratch, tarball), '-C', scratch, '--strip-components=1']);
    rmSync(join(scratch, tarball));
  });
  return dir;
}

function requireKerberosHeaders(): void {
  // code-server's kerberos module compiles against these headers.
  if (process.platform !== 'linux' || existsSync('/usr/include/krb5.h') || existsSync('/usr/include/gssapi/gssapi.h')) return;
  if (!isRoot()) throw new Error('code-server needs the Kerberos headers to build: run `sudo apt-get install -y libkrb5-dev`.');
  run('apt-get', ['install', '-y', '--no-install-recommends', 'libkrb5-dev']);
}

async function installCodeServer(root: string, nodeDir: string): Promise<string> {
  const dir = join(root, `code-server-${CODE_SERVER_VERSION}`);
  const entry = join('node_modules', 'code-server', 'out', 'node', 'entry.js');
  await installOnce(dir, entry, async (scratch) => {
    requireKerberosHeaders();
    console.log(`[vscode-harness] installing code-server ${CODE_SERVER_VERSION} into ${dir} (first run only: about 3 minutes and 620 MB)`);
    const node = join(nodeDir, 'bin', 'node');
    await runNpm(node, ['init', '-y', '--silent'], { cwd: scratch, what: 'creating the code-server folder', quiet: true });
    // code-server's native modules build in their install scripts, which npm 11 skips unless allowed.
    await runNpm(node, ['install', '--no-save', '--no-audit', '--no-fund', '--dangerously-allow-all-scripts', `code-server@${CODE_SERVER_VERSION}`], { cwd: scratch, what: 'installing code-server' });
  });
  return join(dir, entry);
}

/** Installs (or finds in the cache) Node 24 and code-server. */
export async function ensureToolchain(): Promise<Toolchain> {
  const root = cacheDir();
  mkdirSync(root, { recursive: true });
  const nodeDir = await installNode(root);
  const codeServerEntry = await installCodeServer(root, nodeDir);
  return { node: join(nodeDir, 'bin', 'node'), codeServerEntry };
}

/** Debian's Chromium for the UI tests: installed with apt-get when missing and root, else a clear message. */
export function ensureChromium(): string {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  if (!isRoot() || process.env.SLHF_CHROMIUM) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}. Install it (Debian/Ubuntu: \`sudo apt-get install -y chromium\`) or point SLHF_CHROMIUM at a Chromium binary.`);
  }
  console.log('[vscode-harness] installing chromium with apt-get');
  run('apt-get', ['update']);
  run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium']);
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`apt-get installed chromium but ${CHROMIUM_PATH} is still missing`);
  return CHROMIUM_PATH;
}

if (process.argv[1] && process.argv[1].endsWith('install.ts')) {
  ensureToolchain().then(
    (toolchain) => console.log(JSON.stringify({ ...toolchain, chromium: ensureChromium() })),
    (error: unknown) => {
      console.error(`[vscode-harness] the VS Code toolchain could not be installed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
