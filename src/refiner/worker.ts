// The generation worker's entry (bundled on its own as out/refiner-worker.js). It owns the models;
// the extension host talks to it only through the messages in protocol.ts.
import { parentPort } from 'node:worker_threads';
import { ModelHost } from './host';
import { refine } from './loop';
import type { FromWorker, ToWorker } from './protocol';

const port = parentPort;
if (!port) throw new Error('src/refiner/worker.ts runs as a worker thread; use RefinerClient.');
const send = (message: FromWorker) => port.postMessage(message);
const log = (message: string) => send({ type: 'log', message });

let host: ModelHost | null = null;
const controllers = new Map<number, AbortController>();
// One request at a time: generations share the CPU (and the models) anyway.
let queue: Promise<void> = Promise.resolve();

async function serve(id: number, request: Extract<ToWorker, { type: 'refine' }>['request'], signal: AbortSignal): Promise<void> {
  try {
    if (!host) throw new Error('the refiner worker got a request before its configuration');
    for await (const event of refine(host, request, signal)) send({ type: 'event', id, event });
  } catch (err) {
    const e = err as Error;
    send({ type: 'error', id, error: { name: e.name ?? 'Error', message: e.message ?? String(err) } });
  } finally {
    controllers.delete(id);
    send({ type: 'end', id });
  }
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'configure':
      if (host) void host.unloadAll();
      host = new ModelHost({ ...message.config.host, log });
      host.configure(message.config.roles);
      break;
    case 'set-adapter':
      host?.setFollowerAdapter(message.adapter);
      break;
    case 'refine': {
      const controller = new AbortController();
      controllers.set(message.id, controller);
      queue = queue.then(() => serve(message.id, message.request, controller.signal));
      break;
    }
    case 'cancel':
      controllers.get(message.id)?.abort();
      break;
    case 'unload':
      void host?.unloadAll();
      break;
    case 'crash':
      if (message.how === 'exit') process.exit(70);
      setImmediate(() => {
        throw new Error('refiner worker: crash requested by a test');
      });
      break;
  }
});
