// The review guard's Harper, in a worker thread of the extension host (out/harper-worker.js):
// loading its wasm blocks the thread that does it for seconds (11.5 s measured under load average
// 16-20) and the first lint takes about 2 s, which on the extension host's own thread would freeze
// every extension. Messages: in { id, input, output }; out { ready } or { loadError } once, then
// { id, lints } or { id, error } per request. No vscode import: it runs outside the extension host's API.
import { parentPort } from 'node:worker_threads';
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

const port = parentPort;
if (port) {
  const message = (error: unknown) => (error instanceof Error ? error.message : String(error));
  const harper: Promise<Harper | undefined> = loadHarper().then(
    (loaded) => {
      port.postMessage({ ready: true } satisfies GuardReply);
      return loaded;
    },
    (error: unknown) => {
      port.postMessage({ loadError: message(error) } satisfies GuardReply);
      return undefined;
    },
  );
  port.on('message', (request: GuardRequest) => {
    void harper.then(async (loaded) => {
      if (!loaded) return port.postMessage({ id: request.id, error: 'Harper did not load' } satisfies GuardReply);
      try {
        port.postMessage({ id: request.id, lints: await newLints(loaded, request.input, request.output) } satisfies GuardReply);
      } catch (error) {
        port.postMessage({ id: request.id, error: message(error) } satisfies GuardReply);
      }
    });
  });
}
