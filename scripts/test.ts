// Runs every test layer in one node:test run, so CI reads a single summary.
//   unit:   test/unit/**/*.test.ts       (Node, no VS Code)
//   vscode: test/vscode/**/*.test.ts     (code-server in-host tests and Playwright UI tests)
// `--only unit` or `--only vscode` narrows it; extra arguments after `--` go to node --test.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function testFiles(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(testFiles(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const argv = process.argv.slice(2);
const onlyAt = argv.indexOf('--only');
const only = onlyAt >= 0 ? argv[onlyAt + 1] : undefined;
const passthrough = argv.includes('--') ? argv.slice(argv.indexOf('--') + 1) : [];
const layers = only ? [only] : ['unit', 'vscode'];
const files = layers.flatMap((layer) => testFiles(join('test', layer)));
if (files.length === 0) {
  console.error(`no test files for layer(s) ${layers.join(', ')}`);
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  // A test that hangs fails after 10 minutes instead of holding CI to its limit (tests that need
  // longer, such as the first install of the VS Code toolchain, set their own timeout).
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', '--test-timeout=600000', ...passthrough, ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
