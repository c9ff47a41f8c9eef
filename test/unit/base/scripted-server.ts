// A local HTTP server on 127.0.0.1 whose answers each test scripts with serve(), counting the
// requests it gets: for the tests of our download clients against servers that misbehave.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface ScriptedServer {
  /** http://127.0.0.1:PORT */
  readonly base: string;
  /** Requests since the last serve(). */
  readonly requests: number;
  /** Answers every request with `handler` from now on, and counts from zero. */
  serve(handler: Handler): void;
  close(): Promise<void>;
}

export async function startScriptedServer(): Promise<ScriptedServer> {
  let handler: Handler = (_req, res) => res.writeHead(404).end();
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return requests;
    },
    serve(next) {
      requests = 0;
      handler = next;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
