// `slhf refine` on a tiny fixture, through the command's own argument parsing, with a fake stdin.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseCommandArgs, UsageError } from '../../../src/cli/command';
import { refineCommand } from '../../../src/cli/refiner';
import { constantModel, tempRoot, tinyModel } from './fixtures';

const { root, cleanup } = tempRoot('cli');
let modelDir: string;
let constantDir: string;
before(async () => {
  modelDir = await tinyModel(join(root, 'tiny'));
  constantDir = await constantModel(join(root, 'constant'));
});
after(cleanup);

async function slhf(argv: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const args = parseCommandArgs(refineCommand, [...argv, '--cache-dir', join(root, 'cache')]);
  const code = await refineCommand.run(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), stdin: async () => stdin });
  return { code, stdout, stderr };
}

test('plain output: each round\'s text, the final one last', async () => {
  const res = await slhf(['--follower', modelDir, '--rounds', '2', '--seed', '3', '--max-new-tokens', '6'], 'Draft text.');
  assert.equal(res.code, 0, res.stderr);
  const parts = res.stdout.split(/^--- (.+) ---\n/m).slice(1);
  assert.deepEqual([parts[0], parts[2]], ['round 1', 'round 2']);
  const json = await slhf(['--follower', modelDir, '--rounds', '2', '--seed', '3', '--max-new-tokens', '6', '--json'], 'Draft text.');
  const lines = json.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(parts[1], lines[0].text + '\n');
  assert.equal(parts[3], lines[1].text + '\n');
});

test('--json: one line per round with text, tokens, log-probs, model, adapter and timings', async () => {
  const res = await slhf(['--follower', modelDir, '--rounds', '2', '--seed', '9', '--temperature', '1', '--top-p', '0.9', '--max-new-tokens', '8', '--json'], 'Refine me.');
  assert.equal(res.code, 0, res.stderr);
  const lines = res.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  for (const [i, line] of lines.entries()) {
    assert.equal(line.round, i + 1);
    assert.equal(line.tokens, line.tokenIds.length);
    assert.equal(line.logprobs.length, line.tokens);
    assert.ok(Math.abs(line.logprobSum - line.logprobs.reduce((a: number, b: number) => a + b, 0)) < 1e-9);
    assert.match(line.model, /#[0-9a-f]{12}$/);
    assert.equal(line.adapter, null);
    assert.deepEqual(Object.keys(line.timings).sort().slice(0, 3), ['firstTokenMs', 'startedAt', 'tokens']);
    assert.equal(line.sampling.topP, 0.9);
    assert.ok(line.logprobs.every((x: number) => x < 0));
  }
  const again = await slhf(['--follower', modelDir, '--rounds', '2', '--seed', '9', '--temperature', '1', '--top-p', '0.9', '--max-new-tokens', '8', '--json'], 'Refine me.');
  assert.deepEqual(again.stdout.trim().split('\n').map((l) => JSON.parse(l).tokenIds), lines.map((l) => l.tokenIds));
});

test('--leader with --instruction drafts first; a fixed point ends the rounds early', async () => {
  const res = await slhf(['--follower', constantDir, '--leader', constantDir, '--instruction', 'Write a line.', '--rounds', '4', '--temperature', '0', '--max-new-tokens', '5', '--json']);
  assert.equal(res.code, 0, res.stderr);
  const lines = res.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.role, l.round]), [['leader', 0], ['follower', 1]]);
  assert.equal(lines[1].fixedPoint, true);
  assert.match(res.stderr, /round 1 returned its input unchanged/);
});

test('bad input and bad options get clear errors', async () => {
  await assert.rejects(slhf(['--follower', modelDir], '   \n'), (e: Error) => e instanceof UsageError && /draft is empty/.test(e.message));
  await assert.rejects(slhf(['--follower', modelDir], 'a\u0000b'), (e: Error) => e instanceof UsageError && /NUL bytes/.test(e.message));
  await assert.rejects(slhf(['--follower', modelDir, '--leader', modelDir], 'x'), /--leader drafts from --instruction/);
  await assert.rejects(slhf(['--follower', modelDir, '--top-p', '0'], 'x'), /topP must be in \(0, 1\]/);
  await assert.rejects(slhf(['--follower', modelDir, '--kind', 'poem'], 'x'), /--kind must be one of prose, code-comment/);
  await assert.rejects(slhf(['--follower', join(root, 'missing')], 'x'), /No such model folder/);
});
