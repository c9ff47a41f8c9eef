// The toolchain installer's child npm commands must not inherit the outer npm's environment: from
// inside `npm test`, npm_config_user_agent still names the outer Node, and code-server's postinstall
// refused to install ("requires node v24") because it reads its Node version from exactly that.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { childEnv, runNpm } from '../../../scripts/vscode-harness/install';

function withEnv<T>(vars: Record<string, string>, body: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((key) => [key, process.env[key]]));
  Object.assign(process.env, vars);
  const restore = () => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  try {
    const result = body();
    if (result instanceof Promise) return result.finally(restore) as T;
    restore();
    return result;
  } catch (error) {
    restore();
    throw error;
  }
}

const outer = { npm_config_user_agent: 'npm/0.0.0 node/v0.0.0-outer linux x64', npm_config_nodedir: '/outer/nodedir', NODE: '/outer/node', npm_lifecycle_event: 'test' };

test('childEnv drops what the outer npm set and keeps the rest', () => {
  withEnv({ ...outer, SLHF_KEEP_ME: 'yes' }, () => {
    const env = childEnv({ EXTRA: '1' });
    for (const key of Object.keys(outer)) assert.equal(env[key], undefined, `${key} leaked into the child environment`);
    assert.equal(env.SLHF_KEEP_ME, 'yes');
    assert.equal(env.EXTRA, '1');
    assert.equal(env.PATH, process.env.PATH);
  });
});

test('an install script run by runNpm sees the chosen Node, not the outer npm\'s', { timeout: 120_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'slhf-npm-env-'));
  try {
    const probe = join(root, 'probe');
    mkdirSync(probe);
    const report = join(root, 'report.json');
    // The same fields code-server's postinstall and node-gyp read.
    writeFileSync(join(probe, 'package.json'), JSON.stringify({
      name: 'slhf-npm-env-probe', version: '1.0.0',
      scripts: { postinstall: `node -e "require('fs').writeFileSync(process.env.SLHF_PROBE_REPORT, JSON.stringify({ agent: process.env.npm_config_user_agent, nodedir: process.env.npm_config_nodedir, version: process.version }))"` },
    }));
    const project = join(root, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'project', version: '1.0.0', private: true }));
    await withEnv({ ...outer, SLHF_PROBE_REPORT: report }, () =>
      runNpm(process.execPath, ['install', '--no-save', '--no-audit', '--no-fund', '--offline', '--dangerously-allow-all-scripts', probe], { cwd: project, what: 'installing the probe', quiet: true }));
    const seen = JSON.parse(readFileSync(report, 'utf8')) as { agent: string; nodedir: string; version: string };
    assert.equal(seen.version, process.version);
    assert.match(seen.agent, new RegExp(`node/${process.version.replace(/\./g, '\\.')}\\b`));
    assert.doesNotMatch(seen.agent, /outer/);
    assert.equal(seen.nodedir, dirname(dirname(process.execPath)));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('runNpm fails loudly, naming what it was doing', { timeout: 60_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'slhf-npm-fail-'));
  try {
    await assert.rejects(
      runNpm(process.execPath, ['install', '--offline', '--no-audit', join(root, 'no-such-package')], { cwd: root, what: 'installing nothing', quiet: true }),
      /installing nothing failed: npm install .* exited with \d+/,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
