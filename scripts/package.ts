// Builds one VSIX per platform target. onnxruntime-node ships native binaries for every platform
// (~290 MB), so each target's VSIX keeps only its own folder under bin/napi-v6/.
//   npm run package                      # the current platform
//   npm run package -- --target win32-x64
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TARGETS: Record<string, string> = {
  'linux-x64': 'linux/x64',
  'linux-arm64': 'linux/arm64',
  'darwin-arm64': 'darwin/arm64',
  'darwin-x64': 'darwin/x64',
  'win32-x64': 'win32/x64',
  'win32-arm64': 'win32/arm64',
};

const argAt = process.argv.indexOf('--target');
const target = argAt >= 0 ? process.argv[argAt + 1] : `${process.platform}-${process.arch}`;
if (!(target in TARGETS)) {
  console.error(`Unknown target '${target}'. Known targets: ${Object.keys(TARGETS).join(', ')}.`);
  process.exit(2);
}

const others = Object.entries(TARGETS)
  .filter(([name]) => name !== target)
  .map(([, dir]) => `node_modules/onnxruntime-node/bin/napi-v6/${dir}/**`);
const temp = mkdtempSync(join(tmpdir(), 'slhf-package-'));
const ignoreFile = join(temp, '.vscodeignore');
writeFileSync(ignoreFile, readFileSync('.vscodeignore', 'utf8') + '\n' + others.join('\n') + '\n');
try {
  const vsce = spawnSync(
    process.execPath,
    [require.resolve('@vscode/vsce/vsce'), 'package', '--target', target, '--allow-missing-repository', '--ignoreFile', ignoreFile],
    { stdio: 'inherit' },
  );
  process.exitCode = vsce.status ?? 1;
} finally {
  rmSync(temp, { recursive: true, force: true });
}
