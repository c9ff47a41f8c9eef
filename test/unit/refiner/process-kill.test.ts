// The refiner process can always be stopped: a request stuck where nothing is read (as in a long
// native ONNX Runtime call, which a worker thread could not leave: terminate() hung for over a
// minute and the extension host died) is killed 2 s after Cancel and ends as cancelled; a process
// over its memory limit is killed with a clear message; the next request works in both cases; a
// process never outlives its parent.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { forkEntry } from '../../../src/base/child-process';
import { processAlive } from '../../../src/base/process-alive';
import { RefinerClient } from '../../../src/refiner/client';
import type { RefineEvent, RefineRequest } from '../../../src/refiner/loop';
import type { FromWorker, ToWorker } from '../../../src/refiner/refiner-protocol';
import { MAX_NEW_TOKENS, RefinerInputError } from '../../../src/refiner/refiner-settings';
import { stuckMarker } from './worker-cues';
import { collect, constantModel, results, tempRoot, tinyModel } from './fixtures';

const { root, cleanup } = tempRoot('kill');
// stuck-worker.ts gets stuck right after its first streamed text, once in this test process.
process.env.SLHF_TEST_STUCK_AFTER = 'chunk';
const MIB = 2 ** 20;
let config: ConstructorParameters<typeof RefinerClient>[0];
const clients: RefinerClient[] = [];

before(async () => {
  const modelDir = await tinyModel(join(root, 'tiny'));
  const constantDir = await constantModel(join(root, 'constant'));
  config = { host: { cacheDir: join(root, 'cache') }, roles: { leader: { spec: constantDir }, follower: { spec: modelDir } } };
});
after(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  cleanup();
  rmSync(stuckMarker(process.pid), { force: true });
});

/** A client whose process is the product's worker plus cues to misbehave (misbehaving-worker.ts). */
function newClient(options: ConstructorParameters<typeof RefinerClient>[1] = {}): RefinerClient {
  const client = new RefinerClient(config, { workerFile: join(__dirname, 'misbehaving-worker.ts'), ...options });
  clients.push(client);
  return client;
}

const short: RefineRequest = { draft: 'Hello there.', rounds: 1, settings: { seed: 4, maxNewTokens: 8, temperature: 1 } };
// The constant Leader never ends on its own, so whatever the test does lands mid-generation.
const long: RefineRequest = { leaderDraft: true, instruction: 'Write.', rounds: 1, settings: { seed: 1, maxNewTokens: 2000, temperature: 0 } };

async function until(condition: () => boolean, boundMs: number, what: string): Promise<void> {
  for (const end = Date.now() + boundMs; !condition();) {
    if (Date.now() > end) throw new Error(`${what} within ${boundMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a request stuck in a long synchronous step is killed after Cancel, ends as cancelled, and the next request works', async () => {
  const logs: string[] = [];
  // Its process stops reading right after it streams its first text (stuck-worker.ts).
  const client = newClient({ workerFile: join(__dirname, 'stuck-worker.ts'), onLog: (m) => logs.push(m) });
  const controller = new AbortController();
  const events: RefineEvent[] = [];
  let stuckPid: number | undefined;
  let abortedAt = 0;
  for await (const e of client.refine(long, controller.signal)) {
    events.push(e);
    if (e.type === 'chunk' && !stuckPid) {
      stuckPid = client.pid;
      controller.abort();
      abortedAt = Date.now();
    }
  }
  const endedMs = Date.now() - abortedAt;
  const done = events.at(-1);
  assert.ok(done?.type === 'done' && done.stoppedBy === 'cancelled', `ends as cancelled, got ${JSON.stringify(done)}`);
  // 2 s of grace, then SIGKILL; the bound only catches a hang (this machine may be very busy).
  assert.ok(endedMs < 30_000, `ended ${endedMs} ms after Cancel`);
  assert.ok(logs.some((l) => /did not stop within 2000 ms; killing the refiner process/.test(l)));
  assert.equal(client.crashCount, 0, 'a kill on purpose is no crash');
  await until(() => !processAlive(stuckPid!), 30_000, 'the stuck process had not exited');
  const next = results(await collect(client.refine(short)));
  assert.equal(next.length, 1);
  assert.notEqual(client.pid, stuckPid, 'a fresh process served it');
});

test('dispose kills a stuck process and resolves once it has exited', async () => {
  const client = newClient();
  await collect(client.refine(short));
  const pid = client.pid!;
  process.kill(pid, 'SIGHUP'); // reads nothing for 10 minutes
  const running = assert.rejects(collect(client.refine(short)), /the refiner was shut down/);
  await new Promise((r) => setImmediate(r)); // the request has been sent
  await client.dispose();
  assert.equal(processAlive(pid), false);
  await running;
});

test('a process over its memory limit is killed with a clear error, and the next request works', async () => {
  const limit = 1024 * MIB;
  const client = newClient({ memoryLimitBytes: limit });
  const running = (async () => {
    let grown = false;
    for await (const e of client.refine(long)) {
      if (e.type !== 'chunk' || grown) continue;
      process.kill(client.pid!, 'SIGWINCH'); // 1.5 GiB on top of the models: past 1 GiB in any case
      grown = true;
    }
  })();
  await assert.rejects(running, (err: Error) => err instanceof RefinerInputError &&
    /^The refinement needed more than 1\.0 GB of memory and was stopped; refine a shorter selection\.$/.test(err.message));
  assert.equal(client.crashCount, 0);
  const next = results(await collect(client.refine(short)));
  assert.equal(next.length, 1);
});

test('a refiner process whose parent goes away stops generating and exits', async () => {
  const child = forkEntry({ path: join(__dirname, '..', '..', '..', 'src', 'refiner', 'refiner-worker.ts'), execArgv: ['--import', 'tsx'] }, { serialization: 'advanced' });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Any other first answer (an error) fails the test instead of waiting forever.
  const generating = new Promise((resolve, reject) => child.on('message', (m: FromWorker) => {
    if (m.type === 'event') resolve(m);
    else if (m.type === 'error') reject(new Error(`the refiner refused the request: ${m.error.message}`));
  }));
  child.send({ type: 'configure', config } satisfies ToWorker);
  // The most tokens a request may ask for, from the constant Leader: far more work than the test waits for.
  child.send({ type: 'refine', id: 1, request: { ...long, settings: { seed: 1, maxNewTokens: MAX_NEW_TOKENS, temperature: 0 } } } satisfies ToWorker);
  await generating;
  child.disconnect(); // what the extension host's death looks like from the child
  const bound = setTimeout(() => child.kill('SIGKILL'), 60_000); // only against a hang
  assert.equal(await exit, 0, 'exited by itself, not killed');
  clearTimeout(bound);
});
