// Hub servers that misbehave (issue 18): each ends in a clear error, soon, without writing more than
// the file it announced. Local servers on 127.0.0.1 only; every loop is bounded by the retry cap, and
// each test has a generous timeout that only catches a hang (no speed claims).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downloadModel, HubError } from '../../../src/models/hub';
import { downloadTo, type TransferOptions } from '../../../src/models/hub-http';
import { startScriptedServer, type Handler, type ScriptedServer } from '../base/scripted-server';
import { COMMIT } from './hub-server';

let root: string;
let hub: ScriptedServer;
let n = 0;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'slhf-hub-hostile-'));
  hub = await startScriptedServer();
});

after(async () => {
  await hub.close();
  rmSync(root, { recursive: true, force: true });
});

const serve = (handler: Handler) => hub.serve(handler);

function transfer(extra: Partial<TransferOptions> = {}): TransferOptions {
  return { token: null, tokenOrigin: hub.base, retries: 3, idleTimeoutMs: 5_000, env: {}, ...extra };
}

const paths = () => {
  const i = n++;
  return { dest: join(root, `file-${i}`), partial: join(root, `file-${i}.incomplete`) };
};

test('a server answering 416 to every request gives up after the retries (it looped forever)', { timeout: 20_000 }, async () => {
  serve((_req, res) => res.writeHead(416, { 'Content-Range': 'bytes */1000' }).end());
  const { dest, partial } = paths();
  await assert.rejects(downloadTo(`${hub.base}/f`, dest, partial, { commit: null, etag: null, size: 1000 }, transfer({ retries: 3 })),
    (e: unknown) => e instanceof HubError && e.status === 416 && /refused the range request 4 times/.test(e.message));
  assert.equal(hub.requests, 4);
  assert.equal(existsSync(dest), false);
});

test('a body longer than the size the hub announced is stopped as it arrives, never written past that size', { timeout: 20_000 }, async () => {
  const announced = 1000;
  // 8 MiB of chunked body for a file the hub said has 1000 bytes.
  serve((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    let sent = 0;
    const more = () => {
      while (sent < 8 << 20) {
        sent += 64 << 10;
        if (!res.write(Buffer.alloc(64 << 10, 1))) return void res.once('drain', more);
      }
      res.end();
    };
    res.on('error', () => undefined);
    more();
  });
  const { dest, partial } = paths();
  const seen: number[] = [];
  await assert.rejects(
    downloadTo(`${hub.base}/f`, dest, partial, { commit: null, etag: null, size: announced }, transfer({ retries: 0, onBytes: (d) => seen.push(d) })),
    (e: unknown) => e instanceof HubError && e.code === 'integrity' && /more than the 1000 bytes/.test(e.message));
  assert.ok(seen.every((d) => d <= announced), `progress reported ${Math.max(...seen)} bytes`);
  assert.equal(existsSync(dest), false);
  assert.ok(!existsSync(partial) || statSync(partial).size <= announced);
});

test('a body that trickles (a byte at a time, never idle for long) counts as stalled and ends in an error', { timeout: 20_000 }, async () => {
  serve((_req, res) => {
    res.writeHead(200, { 'Content-Length': '1000000' });
    const timer = setInterval(() => res.write('x'), 10);
    res.on('close', () => clearInterval(timer));
  });
  const { dest, partial } = paths();
  await assert.rejects(
    downloadTo(`${hub.base}/f`, dest, partial, { commit: null, etag: null, size: 1_000_000 }, transfer({ retries: 1, idleTimeoutMs: 300 })),
    (e: unknown) => e instanceof HubError && e.code === 'network' && /stalled/.test(e.message));
  assert.equal(hub.requests, 2);
});

test('downloadModel takes an AbortSignal: cancelling a stalled download ends it at once, keeping the partial file', { timeout: 20_000 }, async () => {
  const config = Buffer.from(JSON.stringify({ model_type: 'llama' }).padEnd(4000, ' '));
  serve((req, res) => {
    const headers = { 'X-Repo-Commit': COMMIT, 'Content-Length': String(config.length) };
    if (req.method === 'HEAD') return void res.writeHead(200, headers).end();
    res.writeHead(200, headers);
    res.write(config.subarray(0, 100)); // then nothing: only the (long) idle timeout would end it
  });
  const controller = new AbortController();
  const cacheDir = join(root, 'cache-cancel');
  const download = downloadModel('org/slow', {
    cacheDir, env: { HF_ENDPOINT: hub.base }, idleTimeoutMs: 60_000, signal: controller.signal,
    onProgress: (p) => p.downloaded >= 100 && controller.abort(),
  });
  await assert.rejects(download, (e: unknown) => e instanceof HubError && e.code === 'cancelled' && /cancelled/.test(e.message));
  const blobs = join(cacheDir, 'models--org--slow', 'blobs');
  assert.deepEqual(readdirSync(blobs).map((f) => statSync(join(blobs, f)).size), [100]);
});

test('a signal already aborted makes no request at all', { timeout: 20_000 }, async () => {
  serve((_req, res) => res.writeHead(500).end());
  await assert.rejects(downloadModel('org/any', { cacheDir: join(root, 'cache-aborted'), env: { HF_ENDPOINT: hub.base }, signal: AbortSignal.abort() }),
    (e: unknown) => e instanceof HubError && e.code === 'cancelled');
  assert.equal(hub.requests, 0);
});

test('a file with no announced size stops at its limit; a metadata file announced above its limit is not fetched at all', { timeout: 20_000 }, async () => {
  serve((_req, res) => {
    res.writeHead(200); // chunked: no Content-Length, and the metadata said no size either
    let sent = 0;
    const more = () => {
      while (sent < 8 << 20) {
        sent += 64 << 10;
        if (!res.write(Buffer.alloc(64 << 10, 1))) return void res.once('drain', more);
      }
      res.end();
    };
    res.on('error', () => undefined);
    more();
  });
  const { dest, partial } = paths();
  const seen: number[] = [];
  await assert.rejects(downloadTo(`${hub.base}/f`, dest, partial, { commit: null, etag: null, size: null }, transfer({ retries: 0, maxBytes: 1000, onBytes: (d) => seen.push(d) })),
    (e: unknown) => e instanceof HubError && e.code === 'integrity' && /more than the 1000 bytes allowed for this file/.test(e.message));
  assert.ok(seen.every((d) => d <= 1000));

  // config.json announced at 20 MiB (its limit is 16 MiB): refused after the HEAD, no GET.
  serve((req, res) => {
    if (req.method === 'HEAD') return void res.writeHead(200, { 'X-Repo-Commit': COMMIT, 'Content-Length': String(20 << 20) }).end();
    res.writeHead(500).end();
  });
  await assert.rejects(downloadModel('org/huge-config', { cacheDir: join(root, 'cache-huge'), env: { HF_ENDPOINT: hub.base } }),
    (e: unknown) => e instanceof HubError && e.code === 'integrity' && /20971520 bytes, above the limit of 16777216 bytes/.test(e.message));
  assert.equal(hub.requests, 1);
});
