// Cancel while the refiner process exports or loads a model (issue 18): the request ends as
// cancelled at once, without killing the process, and the export goes on so the next request
// finds the model ready; a load stuck in a synchronous step (as in a native call) is killed after
// the grace, and the next request works in a fresh process.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RefinerClient } from '../../../src/refiner/client';
import type { RefineEvent, RefineRequest } from '../../../src/refiner/loop';
import { collect, results, tempRoot, tinyModel } from './fixtures';

const { root, cleanup } = tempRoot('cancel-load');
let modelDir: string;
const clients: RefinerClient[] = [];
before(async () => {
  modelDir = await tinyModel(join(root, 'tiny'));
});
after(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  cleanup();
});

/** A client on an empty cache of its own, so its first request exports the model. */
function freshClient(name: string, logs: string[]): RefinerClient {
  const client = new RefinerClient({ host: { cacheDir: join(root, name) }, roles: { follower: { spec: modelDir } } }, { onLog: (m) => logs.push(m) });
  clients.push(client);
  return client;
}

const request: RefineRequest = { draft: 'Hello there.', rounds: 1, settings: { seed: 4, maxNewTokens: 8 } };

/** Runs `request`, aborting at its first round-start (the export has only begun); `then` runs right after the abort. */
async function cancelAtStart(client: RefinerClient, then: () => void = () => undefined): Promise<{ events: RefineEvent[]; ms: number }> {
  const controller = new AbortController();
  const events: RefineEvent[] = [];
  let abortedAt = 0;
  for await (const event of client.refine(request, controller.signal)) {
    events.push(event);
    if (event.type === 'round-start' && !abortedAt) {
      abortedAt = Date.now();
      controller.abort();
      then();
    }
  }
  return { events, ms: Date.now() - abortedAt };
}

test('Cancel during the export ends the request without killing the process; the next request refines with the exported model', async () => {
  const logs: string[] = [];
  const client = freshClient('cache-a', logs);
  const { events, ms } = await cancelAtStart(client);
  const pid = client.pid;
  process.stdout.write(`# cancelled during the export: ended ${ms} ms after Cancel\n`);
  // The tiny model may finish loading before the process reads the Cancel: then its round ends as
  // cancelled at the first step (split-round.test.ts aborts mid-load in process, deterministically).
  assert.equal((events.at(-1) as Extract<RefineEvent, { type: 'done' }>).stoppedBy, 'cancelled');
  for (const e of events) if (e.type === 'round-end') assert.equal(e.result.stopReason, 'cancelled');
  assert.ok(!logs.some((m) => /killing the refiner process/.test(m)), logs.join('\n'));
  const [round] = results(await collect(client.refine(request)));
  assert.notEqual(round.stopReason, 'cancelled');
  assert.equal(client.pid, pid, 'the same process served the next request');
  assert.equal(logs.filter((m) => /^exporting /.test(m)).length, 1, 'exported once');
});

test('a load stuck in a synchronous step is killed after the grace; the request ends as cancelled and the next works', async () => {
  const logs: string[] = [];
  const client = freshClient('cache-b', logs);
  let stuckPid: number | undefined;
  const { events, ms } = await cancelAtStart(client, () => {
    stuckPid = client.pid;
    client.blockForTest(10 * 60_000); // nothing is read, Cancel included, as inside a native load
  });
  process.stdout.write(`# cancelled during a stuck load: ended ${ms} ms after Cancel\n`);
  assert.equal(events.at(-1)?.type, 'done');
  assert.equal((events.at(-1) as Extract<RefineEvent, { type: 'done' }>).stoppedBy, 'cancelled');
  assert.ok(logs.some((m) => /killing the refiner process/.test(m)), logs.join('\n'));
  const [round] = results(await collect(client.refine(request)));
  assert.notEqual(round.stopReason, 'cancelled');
  assert.notEqual(client.pid, stuckPid);
});
