// The refiner process's entry (bundled on its own as out/refiner-worker.js, forked by RefinerClient;
// from source through tsx in tests). It owns the models; the extension host talks to it only
// through the messages in refiner-protocol.ts, and may kill it at any time.
import { ModelHost } from './host';
import { refine } from './loop';
import type { FromWorker, ToWorker } from './refiner-protocol';

if (!process.send) throw new Error('src/refiner/refiner-worker.ts runs as a forked process; use RefinerClient.');
const send = (message: FromWorker) => {
  if (process.connected) process.send!(message);
};
const log = (message: string) => send({ type: 'log', message });
// Nothing is left to serve once the parent is gone (it exited, or it was killed): never linger.
process.on('disconnect', () => process.exit(0));

let host: ModelHost | null = null;
const controllers = new Map<number, AbortController>();
// One request at a time: generations share the CPU (and the models) anyway.
let queue: Promise<void> = Promise.resolve();

async function serve(id: number, request: Extract<ToWorker, { type: 'refine' }>['request'], signal: AbortSignal): Promise<void> {
  try {
    if (!host) throw new Error('the refiner process got a request before its configuration');
    for await (const event of refine(host, request, signal)) send({ type: 'event', id, event });
  } catch (err) {
    const e = err as Error;
    send({ type: 'error', id, error: { name: e.name ?? 'Error', message: e.message ?? String(err) } });
  } finally {
    controllers.delete(id);
    send({ type: 'end', id });
  }
}

process.on('message', (message: ToWorker) => {
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
  }
});
