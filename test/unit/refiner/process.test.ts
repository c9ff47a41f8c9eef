// Generation in its own process: the refiner process (forked from source under tsx) streams events
// through the typed protocol, cancels promptly, keeps input errors user-facing, and recovers from crashes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDecoderConfig } from '../../../src/models/config';
import { initLoraAdapter } from '../../../src/models/lora';
import { savePeftAdapter } from '../../../src/models/peft';
import { REFINER_PROCESS_RUNTIME, RefinerClient, WorkerCrashedError } from '../../../src/refiner/client';
import type { RefineEvent, RefineRequest } from '../../../src/refiner/loop';
import { RefinerInputError } from '../../../src/refiner/refiner-settings';
import { collect, constantModel, results, tempRoot, tinyModel } from './fixtures';
import { DEFAULT_DRAFT_TOKENS } from '../../../src/refiner/speculation';

const { root, cleanup } = tempRoot('process');
let client: RefinerClient;
const crashes: WorkerCrashedError[] = [];
const logs: string[] = [];
let adapterDir: string;

before(async () => {
  const modelDir = await tinyModel(join(root, 'tiny'));
  const constantDir = await constantModel(join(root, 'constant'));
  const config = parseDecoderConfig(JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')));
  adapterDir = join(root, 'adapter');
  await savePeftAdapter(adapterDir, initLoraAdapter(config, { rank: 2, alpha: 4, dropout: 0, targets: ['q'] }, 1));
  client = new RefinerClient(
    { host: { cacheDir: join(root, 'cache') }, roles: { leader: { spec: constantDir }, follower: { spec: modelDir } } },
    // The product's worker with a way to make it throw on cue (SIGUSR2, misbehaving-worker.ts).
    { workerFile: join(__dirname, 'misbehaving-worker.ts'), onCrash: (e) => crashes.push(e), onLog: (m) => logs.push(m) },
  );
});
after(async () => {
  await client.dispose();
  cleanup();
});

const request: RefineRequest = { draft: 'Hello there.', rounds: 2, settings: { seed: 4, maxNewTokens: 8, temperature: 1 } };

test('a request runs in the refiner process and streams its events in order', async () => {
  const events = await collect(client.refine(request));
  assert.deepEqual(events.filter((e) => e.type !== 'chunk').map((e) => e.type), ['round-start', 'round-end', 'round-start', 'round-end', 'done']);
  const rounds = results(events);
  const again = results(await collect(client.refine(request)));
  assert.deepEqual(again.map((r) => r.tokenIds), rounds.map((r) => r.tokenIds), 'seeded: the same rounds again');
  const chunks = events.filter((e): e is Extract<RefineEvent, { type: 'chunk' }> => e.type === 'chunk' && e.round === 1).map((e) => e.text).join('');
  assert.equal(chunks, rounds[0].text);
  assert.ok(logs.some((l) => /^exporting .* to ONNX/.test(l)), 'the process\'s log reaches the client');
  assert.ok(client.pid !== undefined && client.pid !== process.pid, 'the models run in a child process');
});

test('the refiner process runs with REFINER_PROCESS_RUNTIME\'s Node flags and environment', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  await collect(client.refine(request));
  const args = readFileSync(`/proc/${client.pid}/cmdline`, 'utf8').split('\0');
  const env = readFileSync(`/proc/${client.pid}/environ`, 'utf8').split('\0');
  for (const flag of REFINER_PROCESS_RUNTIME.execArgv) assert.ok(args.includes(flag), `${flag} in ${args.join(' ')}`);
  for (const [name, value] of Object.entries(REFINER_PROCESS_RUNTIME.env)) assert.ok(env.includes(`${name}=${value}`), `${name}=${value} in the environment`);
  assert.ok(REFINER_PROCESS_RUNTIME.execArgv.length > 0 && Object.keys(REFINER_PROCESS_RUNTIME.env).length > 0);
});

test('input errors come back as RefinerInputError', async () => {
  await assert.rejects(collect(client.refine({ ...request, draft: '\u0000\u0001' })), (err: Error) => err instanceof RefinerInputError && /NUL bytes/.test(err.message));
});

test('cancelling through the process stops within one step', async () => {
  const controller = new AbortController();
  const events: RefineEvent[] = [];
  const long = { ...request, leaderDraft: true, instruction: 'Write a poem.', draft: undefined, settings: { seed: 1, maxNewTokens: 500, temperature: 0 } };
  for await (const e of client.refine(long, controller.signal)) {
    events.push(e);
    if (e.type === 'chunk') controller.abort();
  }
  const [draft] = results(events);
  assert.equal(draft.role, 'leader');
  assert.equal(draft.stopReason, 'cancelled');
  // The abort crosses two message hops (the chunk out, the cancel back), and this model's steps take
  // about a millisecond, so how many pass meanwhile depends on the machine's load (74 tokens, 8 steps,
  // in one CI run); loop.test.ts pins the one step after the abort is seen. Here: far short of the
  // budget. With speculation a step (one forward pass) emits up to 1 + DEFAULT_DRAFT_TOKENS tokens.
  const bound = 16 * (1 + DEFAULT_DRAFT_TOKENS);
  assert.ok(draft.tokenIds.length < bound, `${draft.tokenIds.length} tokens of 500 (under ${bound})`);
});

/** Ends the refiner process from outside (as the kernel's out-of-memory killer would), or makes it throw an uncaught exception. */
function crash(how: 'killed' | 'throw'): void {
  process.kill(client.pid!, how === 'killed' ? 'SIGKILL' : 'SIGUSR2');
}

for (const how of ['killed', 'throw'] as const) {
  test(`a crashed refiner process (${how}) is reported and the next request works`, async () => {
    const before = client.crashCount;
    // The constant Leader never ends on its own, so the crash lands mid-generation.
    const long = { ...request, leaderDraft: true, instruction: 'Write.', draft: undefined, settings: { seed: 1, maxNewTokens: 2000, temperature: 0 } };
    const running = (async () => {
      let crashed = false;
      for await (const e of client.refine(long)) {
        if (e.type !== 'chunk' || crashed) continue;
        crash(how);
        crashed = true;
      }
    })();
    await assert.rejects(running, (err: Error) => err instanceof WorkerCrashedError && /restarts with the next request/.test(err.message));
    assert.equal(client.crashCount, before + 1);
    assert.equal(crashes.length, before + 1);
    if (how === 'throw') assert.match(crashes.at(-1)!.message, /crash requested by a test/);
    const next = results(await collect(client.refine(request)));
    assert.equal(next.length, 2);
  });
}

test('the Follower\'s adapter version survives a process restart', async () => {
  client.setFollowerAdapter(adapterDir);
  const [withAdapter] = results(await collect(client.refine({ ...request, rounds: 1 })));
  assert.match(withAdapter.adapterVersion ?? '', /^[0-9a-f]{12}$/);
  const crashed = client.crashCount;
  crash('killed');
  while (client.crashCount === crashed) await new Promise((r) => setTimeout(r, 10));
  const [afterCrash] = results(await collect(client.refine({ ...request, rounds: 1 })));
  assert.equal(afterCrash.adapterVersion, withAdapter.adapterVersion);
  client.setFollowerAdapter(null);
  const [base] = results(await collect(client.refine({ ...request, rounds: 1 })));
  assert.equal(base.adapterVersion, null);
});
