// `npm start`: serves a VS Code (code-server) on localhost with SLHF Refine installed and a copy of
// the sample workspace open. Ctrl+C (or SIGTERM) stops code-server and removes the temp folders.
// PORT picks the port (default: a free one).
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, startCodeServer } from './vscode-harness/code-server';

async function main(): Promise<void> {
  const workspace = mkdtempSync(join(tmpdir(), 'slhf-sample-'));
  cpSync(join(repoRoot, 'media', 'sample-workspace'), workspace, { recursive: true });
  const port = process.env.PORT ? Number(process.env.PORT) : undefined;
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) throw new Error(`PORT must be a TCP port number, got "${process.env.PORT}"`);
  // Linked, not copied: after `npm run build` (or with `npm run watch`), reload the window to pick up changes.
  const server = await startCodeServer({ installExtensions: [repoRoot], port });
  let stopping = false;
  const stop = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${reason}: stopping code-server`);
    await server.stop();
    rmSync(workspace, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void stop(signal).then(() => process.exit(0)));
  }
  console.log(`SLHF Refine is running in VS Code at ${server.workbenchUrl(workspace)}`);
  console.log('Open it in a browser; the SLHF panel is in the activity bar. Press Ctrl+C to stop.');
  const exit = await server.exited;
  if (!stopping) {
    console.error(server.logTail());
    await stop(`code-server exited (${exit})`);
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
