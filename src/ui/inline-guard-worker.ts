// The review guard's Harper, in a process of its own (out/harper-worker.js), forked by the extension
// host at low priority: loading its wasm blocks the thread that does it for seconds (11.5 s measured
// under load average 16-20) and the first lint takes about 2 s, which on the extension host's own
// thread froze every extension; in a worker thread at normal priority its load still slowed the
// refiner beside it. Messages: in { id, input, output }; out { ready } or { loadError } once, then
// { id, lints } or { id, error } per request. No vscode import: it runs outside the extension host.
import { loadHarper, newLints, type Harper } from '../models/harper';

export interface GuardRequest {
  readonly id: number;
  readonly input: string;
  readonly output: string;
}

export type GuardReply =
  | { readonly ready: true }
  | { readonly loadError: string }
  | { readonly id: number; readonly lints: { start: number; end: number; kind: string; message: string; replacement: string | null }[] }
  | { readonly id: number; readonly error: string };

const send = process.send?.bind(process);
if (send) {
  const port = { postMessage: (reply: GuardReply) => send(reply) };
  const message = (error: unknown) => (error instanceof Error ? error.message : String(error));
  const harper: Promise<Harper | undefined> = loadHarper().then(
    (loaded) => {
      port.postMessage({ ready: true });
      return loaded;
    },
    (error: unknown) => {
      port.postMessage({ loadError: message(error) });
      return undefined;
    },
  );
  process.on('message', (request: GuardRequest) => {
    void harper.then(async (loaded) => {
      if (!loaded) return port.postMessage({ id: request.id, error: 'Harper did not load' });
      try {
        port.postMessage({ id: request.id, lints: await newLints(loaded, request.input, request.output) });
      } catch (error) {
        port.postMessage({ id: request.id, error: message(error) });
      }
    });
  });
  // The extension host going away ends this process too.
  process.on('disconnect', () => process.exit(0));
}
