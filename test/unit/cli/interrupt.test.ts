// Ctrl+C on `slhf` (issue 18): a real SIGINT to a spawned CLI ends `slhf train` and `slhf refine`
// promptly with exit code 130, their child processes gone and nothing activated. Before, train
// exited 1 (or its worker died from the terminal's SIGINT and the run was reported as a crash) and
// refine was killed by the signal mid-generation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INTERRUPTED_EXIT_CODE } from '../../../src/cli/interrupt';
import { listVersions, readActive } from '../../../src/training/versions';
import { constantModel } from '../refiner/fixtures';
import { decisionRecords, tinyFixture, type TinyFixture, storeWith } from '../training/fixtures';

const repo = join(__dirname, '..', '..', '..');
let f: TinyFixture;
let storeDir: string;
before(async () => {
  f = await tinyFixture();
  storeDir = join(f.dir, 'store');
  await storeWith(storeDir, decisionRecords(24));
});
after(() => f.cleanup());

/** The CLI from source in its own process group, so a signal to the group reaches its children too, as Ctrl+C in a terminal does. */
function slhf(argv: string[], stdin: string | null = ''): { child: ChildProcess; output: { stdout: string; stderr: string }; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repo, 'src', 'cli.ts'), ...argv], { cwd: repo, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout!.on('data', (c: Buffer) => (output.stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output.stderr += c.toString()));
  if (stdin !== null) child.stdin!.end(stdin); // null: left open, as a terminal waiting for input
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  return { child, output, exit };
}

async function until(what: string, ok: () => boolean, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Linux: the process's children (the training worker), from /proc. */
function childPids(pid: number): number[] {
  const path = `/proc/${pid}/task/${pid}/children`;
  return existsSync(path) ? readFileSync(path, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number) : [];
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('Ctrl+C during slhf train: the worker stops, nothing is activated, exit code 130', async () => {
  const out = join(f.dir, 'train-out');
  const run = slhf(['train', '--store', storeDir, '--follower', f.modelDir, '--out', out, '--steps', '100000', '--lora-r', '4', '--json-progress']);
  await until('the first training step', () => run.output.stdout.includes('"type":"progress"'));
  const workers = childPids(run.child.pid!);
  const sent = Date.now();
  process.kill(-run.child.pid!, 'SIGINT');
  const { code, signal, at } = await run.exit;
  assert.deepEqual({ code, signal }, { code: INTERRUPTED_EXIT_CODE, signal: null }, run.output.stderr);
  // The worker gets the cancel before its next step; the CLI kills it 2 s after asking at the latest.
  assert.ok(at - sent < 5000, `exited ${at - sent} ms after SIGINT`);
  assert.match(run.output.stderr, /slhf train: cancelled: training cancelled .*; the active version is unchanged/);
  for (const pid of workers) assert.equal(alive(pid), false, `training process ${pid} still running`);
  assert.equal(readActive(out), null);
  assert.deepEqual(listVersions(out), []);
});

test('SIGINT to the CLI alone (what Cancel in the editor sends): it cancels its worker over IPC, exit code 130', async () => {
  const out = join(f.dir, 'train-editor');
  const run = slhf(['train', '--store', storeDir, '--follower', f.modelDir, '--out', out, '--steps', '100000', '--lora-r', '4', '--json-progress']);
  await until('the first training step', () => run.output.stdout.includes('"type":"progress"'));
  const workers = childPids(run.child.pid!);
  run.child.kill('SIGINT');
  const { code, signal } = await run.exit;
  assert.deepEqual({ code, signal }, { code: INTERRUPTED_EXIT_CODE, signal: null }, run.output.stderr);
  assert.match(run.output.stdout, /"type":"error","kind":"cancelled"/);
  for (const pid of workers) assert.equal(alive(pid), false, `training process ${pid} still running`);
  assert.equal(readActive(out), null);
});

test('Ctrl+C during slhf refine: generation stops within a step, exit code 130', async () => {
  // Greedy decoding on this model repeats one token and never ends: every round runs to 1,024 tokens
  // (about 2 s here); round 2 would return round 1's text and end the refinement.
  const model = await constantModel(join(f.dir, 'constant'));
  const run = slhf(['refine', '--follower', model, '--rounds', '2', '--max-new-tokens', '1024', '--temperature', '0', '--json', '--cache-dir', join(f.dir, 'cache')], 'Draft text.');
  await until('round 1', () => run.output.stdout.includes('\n'));
  const sent = Date.now();
  process.kill(-run.child.pid!, 'SIGINT');
  const { code, signal, at } = await run.exit;
  assert.deepEqual({ code, signal }, { code: INTERRUPTED_EXIT_CODE, signal: null }, run.output.stderr);
  assert.ok(at - sent < 3000, `exited ${at - sent} ms after SIGINT`);
  assert.match(run.output.stderr, /slhf: interrupted/);
  // Round 2 ends where it was stopped, marked as such.
  const rounds = run.output.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(rounds.map((r) => r.stopReason), ['max-new-tokens', 'cancelled']);
  assert.ok(rounds[1].tokens < 1024, `round 2 ran to ${rounds[1].tokens} tokens`);
});

test('Ctrl+C while slhf refine waits for its draft on stdin: it stops waiting, exit code 130', async () => {
  const run = slhf(['refine', '--cache-dir', join(f.dir, 'cache')], null);
  // Without --follower it names the built-in model first, then reads stdin.
  await until('the built-in model note', () => run.output.stderr.includes('using the'));
  const sent = Date.now();
  process.kill(-run.child.pid!, 'SIGINT');
  const { code, signal, at } = await run.exit;
  assert.deepEqual({ code, signal }, { code: INTERRUPTED_EXIT_CODE, signal: null }, run.output.stderr);
  assert.ok(at - sent < 2000, `exited ${at - sent} ms after SIGINT`);
  assert.doesNotMatch(run.output.stderr, /empty/);
});
