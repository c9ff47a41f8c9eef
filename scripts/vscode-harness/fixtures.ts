// What the VS Code test layers need besides VS Code: the tiny fixture model the Follower setting
// points at.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './code-server';

/** Writes a tiny random-weight Qwen2-shaped checkpoint with a byte tokenizer into `dir` (via the CLI). */
export function makeFixtureModel(dir: string): string {
  const cli = join(repoRoot, 'out', 'cli.js');
  if (!existsSync(cli)) throw new Error('out/cli.js is missing: run `npm run build` first');
  const args = ['make-tiny-model', '--arch', 'qwen2', '--tokenizer', 'bytes', '--out', dir, '--layers', '1', '--hidden', '32', '--heads', '2', '--kv-heads', '1', '--intermediate', '64'];
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`make-tiny-model failed (${result.status}):\n${result.stderr}`);
  return dir;
}

