// Installs the pieces a real VS Code needs here, once, into a cache folder reused across runs:
// Node 24 and code-server, both from the npm registry (the VS Code download sites are not reachable
// from CI), and Debian's Chromium when it is missing and we are root.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

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

function run(cmd: string, args: string[], options: SpawnSyncOptions = {}): void {
  const result = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Builds `final` in a scratch folder and renames it into place, so a killed install never looks done. */
function installOnce(final: string, marker: string, build: (dir: string) => void): void {
  if (existsSync(join(final, marker))) return;
  const scratch = `${final}.partial-${process.pid}`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  try {
    build(scratch);
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

function installNode(root: string): string {
  const dir = join(root, `node-${NODE_VERSION}`);
  installOnce(dir, join('bin', 'node'), (scratch) => {
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

function installCodeServer(root: string, nodeDir: string): string {
  const dir = join(root, `code-server-${CODE_SERVER_VERSION}`);
  const entry = join('node_modules', 'code-server', 'out', 'node', 'entry.js');
  installOnce(dir, entry, (scratch) => {
    requireKerberosHeaders();
    console.log(`[vscode-harness] installing code-server ${CODE_SERVER_VERSION} into ${dir} (first run only, a few minutes)`);
    // Node 24 first on PATH, so npm, node-gyp and code-server's postinstall all build for it.
    const env = {
      ...process.env,
      PATH: `${join(nodeDir, 'bin')}${delimiter}${process.env.PATH ?? ''}`,
      npm_config_nodedir: nodeDir,
    };
    run('npm', ['init', '-y', '--silent'], { cwd: scratch, env, stdio: 'ignore' });
    run('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--dangerously-allow-all-scripts', `code-server@${CODE_SERVER_VERSION}`], { cwd: scratch, env });
  });
  return join(dir, entry);
}

/** Installs (or finds in the cache) Node 24 and code-server. */
export function ensureToolchain(): Toolchain {
  const root = cacheDir();
  mkdirSync(root, { recursive: true });
  const nodeDir = installNode(root);
  const codeServerEntry = installCodeServer(root, nodeDir);
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
  const toolchain = ensureToolchain();
  console.log(JSON.stringify({ ...toolchain, chromium: ensureChromium() }));
}
