// Servers that misbehave against the generic downloader (issue 18): a body longer than announced is
// stopped while it streams, a trickling body counts as stalled. Local server on 127.0.0.1 only; each
// test's timeout only catches a hang.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DownloadError, downloadFile } from '../../../src/base/download';
import { startScriptedServer, type ScriptedServer } from './scripted-server';

let root: string;
let server: ScriptedServer;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'slhf-download-hostile-'));
  server = await startScriptedServer();
});

after(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

/** Streams `bytes` of chunked body with backpressure, then ends. */
function flood(res: ServerResponse, bytes: number): void {
  let sent = 0;
  const more = () => {
    while (sent < bytes) {
      sent += 64 << 10;
      if (!res.write(Buffer.alloc(64 << 10, 7))) return void res.once('drain', more);
    }
    res.end();
  };
  res.on('error', () => undefined);
  more();
}

test('a resumed body longer than its Content-Range total is stopped as it streams, never written past the total', { timeout: 20_000 }, async () => {
  const total = 2000;
  server.serve((req, res) => {
    const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
    // Announces the rest of a 2000-byte file, then sends 8 MiB (chunked, so node does not cut it).
    res.writeHead(206, { 'Content-Range': `bytes ${start}-${total - 1}/${total}` });
    flood(res, 8 << 20);
  });
  const dest = join(root, 'long.bin');
  writeFileSync(`${dest}.partial`, Buffer.alloc(500, 7));
  const seen: number[] = [];
  await assert.rejects(downloadFile(`${server.base}/long.bin`, dest, { env: {}, retries: 0, onProgress: (received) => seen.push(received) }),
    (e: unknown) => e instanceof DownloadError && /more than the 2000 bytes/.test(e.message));
  assert.ok(seen.every((r) => r <= total), `progress reported ${Math.max(...seen)} bytes of ${total}`);
  assert.equal(existsSync(dest), false);
  assert.ok(!existsSync(`${dest}.partial`) || statSync(`${dest}.partial`).size <= total);
  assert.equal(server.requests, 1);
});

test('a body that trickles (never idle long enough for the idle timeout) counts as stalled and ends in an error', { timeout: 20_000 }, async () => {
  server.serve((_req, res) => {
    res.writeHead(200, { 'Content-Length': '1000000' });
    const timer = setInterval(() => res.write('x'), 10);
    res.on('close', () => clearInterval(timer));
  });
  const dest = join(root, 'slow.bin');
  await assert.rejects(downloadFile(`${server.base}/slow.bin`, dest, { env: {}, retries: 1, idleTimeoutMs: 300 }),
    (e: unknown) => e instanceof DownloadError && e.code === 'incomplete' && /stalled/.test(e.message));
  assert.equal(server.requests, 2);
  assert.equal(existsSync(dest), false);
});

test('a body with no announced length stops at maxBytes', { timeout: 20_000 }, async () => {
  server.serve((_req, res) => {
    res.writeHead(200); // chunked, no Content-Length
    flood(res, 8 << 20);
  });
  const dest = join(root, 'unannounced.bin');
  await assert.rejects(downloadFile(`${server.base}/unannounced.bin`, dest, { env: {}, retries: 0, maxBytes: 4096 }),
    (e: unknown) => e instanceof DownloadError && e.code === 'oversize' && /more than the 4096 bytes allowed for this file/.test(e.message));
  assert.equal(existsSync(dest), false);
  assert.equal(existsSync(`${dest}.partial`), false);
});
