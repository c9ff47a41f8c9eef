// Cancel while the refiner process exports or loads a model (issue 18): the request ends as
// cancelled at once, without killing the process, and the export goes on so the next request
// finds the model ready; a load stuck in a synchronous step (as in a native call) is killed after
// the grace, and the next request works in a fresh process.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { RefinerClient } from '../../../src/refiner/client';
import type { RefineEvent, RefineRequest } from '../../../src/refiner/loop';
import { stuckMarker } from './worker-cues';
import { collect, results, tempRoot, tinyModel } from './fixtures';

const { root, cleanup } = tempRoot('cancel-load');
// stuck-worker.ts gets stuck right after its first export, once in this test process.
process.env.SLHF_TEST_STUCK_AFTER = 'exporting';
let modelDir: string;
const clients: RefinerClient[] = [];
before(async () => {
  modelDir = await tinyModel(join(root, 'tiny'));
});
after(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  cleanup();
  rmSync(stuckMarker(process.pid), { force: true });
});

/** A client on an empty cache of its own, so its first request exports the model; `onExport` runs as that first export begins. */
function freshClient(name: string, logs: string[], onExport: (client: RefinerClient) => void, workerFile?: string): RefinerClient {
  const client: RefinerClient = new RefinerClient({ host: { cacheDir: join(root, name) }, roles: { follower: { spec: modelDir } } }, {
    workerFile,
    onLog: (m) => {
      logs.push(m);
      if (/^exporting /.test(m) && logs.filter((l) => /^exporting /.test(l)).length === 1) onExport(client);
    },
  });
  clients.push(client);
  return client;
}

const request: RefineRequest = { draft: 'Hello there.', rounds: 1, settings: { seed: 4, maxNewTokens: 8 } };

/** Runs `request` on a fresh client (its process from `workerFile`, else the product's), cancelling as the export begins. */
async function cancelDuringExport(name: string, logs: string[], workerFile?: string) {
  const controller = new AbortController();
  let abortedAt = 0;
  let exportingPid: number | undefined;
  const client = freshClient(name, logs, (c) => {
    exportingPid = c.pid;
    abortedAt = Date.now();
    controller.abort();
  }, workerFile);
  const events: RefineEvent[] = [];
  for await (const event of client.refine(request, controller.signal)) events.push(event);
  assert.ok(abortedAt > 0, 'the export began');
  return { client, events, ms: Date.now() - abortedAt, exportingPid };
}

test('Cancel during the export ends the request without killing the process; the next request refines with the exported model', async () => {
  const logs: string[] = [];
  const { client, events, ms } = await cancelDuringExport('cache-a', logs);
  const pid = client.pid;
  process.stdout.write(`# cancelled during the export: ended ${ms} ms after Cancel\n`);
  // The round has started (the editor shows it while the model is exported), then ends with the request.
  assert.deepEqual(events.map((e) => e.type), ['round-start', 'done']);
  assert.equal((events[1] as Extract<RefineEvent, { type: 'done' }>).stoppedBy, 'cancelled');
  assert.ok(!logs.some((m) => /killing the refiner process/.test(m)), logs.join('\n'));
  const [round] = results(await collect(client.refine(request)));
  assert.notEqual(round.stopReason, 'cancelled');
  assert.equal(client.pid, pid, 'the same process served the next request');
  assert.equal(logs.filter((m) => /^exporting /.test(m)).length, 1, 'exported once');
});

test('an export stuck in a synchronous step is killed after the grace; the request ends as cancelled and the next works', async () => {
  const logs: string[] = [];
  // The process stops reading right after it announces the export (stuck-worker.ts).
  const { client, events, ms, exportingPid: stuckPid } = await cancelDuringExport('cache-b', logs, join(__dirname, 'stuck-worker.ts'));
  process.stdout.write(`# cancelled during a stuck export: ended ${ms} ms after Cancel\n`);
  assert.equal((events.at(-1) as Extract<RefineEvent, { type: 'done' }>).stoppedBy, 'cancelled');
  assert.ok(logs.some((m) => /killing the refiner process/.test(m)), logs.join('\n'));
  const [round] = results(await collect(client.refine(request)));
  assert.notEqual(round.stopReason, 'cancelled');
  assert.notEqual(client.pid, stuckPid);
});
