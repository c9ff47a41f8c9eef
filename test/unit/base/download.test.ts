// The downloader against a local server: whole files, resumes after drops and across runs, servers
// that ignore ranges, redirects, errors, cancellation, and proxies (absolute-form and CONNECT).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DownloadError, downloadFile, proxyFor } from '../../../src/base/download';
import { fakeLibrary, FakeNuget } from '../onnx/nuget-server';
import { startProxy } from './proxy-server';

const dir = mkdtempSync(join(tmpdir(), 'slhf-download-'));
const body = fakeLibrary(5, 300_000);
const noProxy = {};
let n = 0;
const dest = () => join(dir, `file-${n++}.bin`);

async function withServer(fn: (server: FakeNuget) => Promise<void>): Promise<void> {
  const server = await new FakeNuget().start();
  server.packages.set('/file.bin', body);
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}
const origin = (server: FakeNuget) => server.url.replace('/v3-flatcontainer/', '');

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('downloads a whole file, reporting progress up to its length, and leaves no partial file', () => withServer(async (server) => {
  const out = dest();
  const seen: number[] = [];
  const result = await downloadFile(`${origin(server)}/file.bin`, out, { env: noProxy, onProgress: (received, total) => (assert.equal(total, body.length), seen.push(received)) });
  assert.ok(readFileSync(out).equals(body));
  assert.deepEqual(result, { bytes: body.length, resumedFrom: 0 });
  assert.equal(seen.at(-1), body.length);
  assert.ok(seen.every((v, i) => i === 0 || v >= seen[i - 1]));
  assert.equal(existsSync(`${out}.partial`), false);
}));

test('a dropped connection resumes with a Range request from the bytes already written', () => withServer(async (server) => {
  server.faults.dropAfter = { bytes: 100_000, times: 2 };
  const out = dest();
  await downloadFile(`${origin(server)}/file.bin`, out, { env: noProxy, retries: 3 });
  assert.ok(readFileSync(out).equals(body));
  // Node discards what it had buffered but not handed out when a response ends early, so the
  // offsets are at most the bytes sent; what matters is that each request continues the file.
  const offsets = server.requests.map((r) => (r.range === null ? 0 : Number(/^bytes=(\d+)-$/.exec(r.range)![1])));
  assert.equal(offsets.length, 3);
  assert.ok(offsets[0] === 0 && offsets[1] > 0 && offsets[1] <= 100_000 && offsets[2] > offsets[1] && offsets[2] <= offsets[1] + 100_000, offsets.join());
}));

test('after the retries run out the partial file stays, and the next run resumes it', () => withServer(async (server) => {
  server.faults.dropAfter = { bytes: 120_000, times: 2 };
  const out = dest();
  let reported = 0;
  await assert.rejects(downloadFile(`${origin(server)}/file.bin`, out, { env: noProxy, retries: 1 }), (e: unknown) => {
    assert.ok(e instanceof DownloadError && e.code === 'incomplete');
    reported = Number(/dropped 2 times \((\d+) of 300000 bytes received\); run again to resume/.exec(e.message)?.[1]);
    return true;
  });
  assert.equal(existsSync(out), false);
  const kept = statSync(`${out}.partial`).size;
  assert.ok(kept === reported && kept > 0 && kept <= 240_000, `${kept} kept, ${reported} reported`);
  const result = await downloadFile(`${origin(server)}/file.bin`, out, { env: noProxy });
  assert.ok(readFileSync(out).equals(body));
  assert.equal(result.resumedFrom, kept);
  assert.equal(server.requests.at(-1)!.range, `bytes=${kept}-`);
}));

test('a server that ignores Range restarts the file instead of appending to it', () => withServer(async (server) => {
  server.faults.ignoreRange = true;
  const out = dest();
  writeFileSync(`${out}.partial`, body.subarray(0, 1000));
  await downloadFile(`${origin(server)}/file.bin`, out, { env: noProxy });
  assert.ok(readFileSync(out).equals(body));
}));

test('a 206 for another part than the one asked for restarts the file', () => withServer(async (server) => {
  server.faults.wrongRange = true;
  const out = dest();
  writeFileSync(`${out}.partial`, body.subarray(0, 1000));
  await downloadFile(`${origin(server)}/file.bin`, out, { env: noProxy });
  assert.ok(readFileSync(out).equals(body));
  assert.deepEqual(server.requests.map((r) => r.range), ['bytes=1000-', null]);
}));

test('a partial file that is already complete (416 with the same length) is taken as is', () => withServer(async (server) => {
  const out = dest();
  writeFileSync(`${out}.partial`, body);
  await downloadFile(`${origin(server)}/file.bin`, out, { env: noProxy });
  assert.ok(readFileSync(out).equals(body));
  assert.deepEqual(server.requests.map((r) => r.range), [`bytes=${body.length}-`]);
}));

test('redirects are followed', () => withServer(async (server) => {
  server.faults.redirect = ['/moved/', '/'];
  const out = dest();
  await downloadFile(`${origin(server)}/moved/file.bin`, out, { env: noProxy });
  assert.ok(readFileSync(out).equals(body));
}));

test('404, other statuses and an unreachable host are distinct errors', () => withServer(async (server) => {
  const out = dest();
  await assert.rejects(downloadFile(`${origin(server)}/missing.bin`, out, { env: noProxy }), (e: unknown) => e instanceof DownloadError && e.code === 'not-found' && e.status === 404);
  server.faults.status = 503;
  await assert.rejects(downloadFile(`${origin(server)}/file.bin`, out, { env: noProxy }), (e: unknown) => e instanceof DownloadError && e.code === 'http' && /HTTP 503/.test(e.message));
  const closed = origin(server);
  await server.close();
  await assert.rejects(downloadFile(`${closed}/file.bin`, out, { env: noProxy }), (e: unknown) => {
    assert.ok(e instanceof DownloadError && e.code === 'offline', String(e));
    assert.match(e.message, /cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    return true;
  });
  assert.equal(existsSync(out), false);
}));

test('cancelling stops the download and keeps what arrived for the next run', () => withServer(async (server) => {
  const out = dest();
  const abort = new AbortController();
  const big = fakeLibrary(6, 8_000_000);
  server.packages.set('/big.bin', big);
  await assert.rejects(downloadFile(`${origin(server)}/big.bin`, out, { env: noProxy, signal: abort.signal, onProgress: (r) => r > 1_000_000 && abort.abort() }),
    (e: unknown) => e instanceof DownloadError && e.code === 'cancelled');
  const kept = statSync(`${out}.partial`).size;
  assert.ok(kept > 1_000_000 && kept < big.length, `kept ${kept}`);
  const result = await downloadFile(`${origin(server)}/big.bin`, out, { env: noProxy });
  assert.equal(result.resumedFrom, kept);
  assert.ok(readFileSync(out).equals(big));
}));

test('proxy variables: scheme-specific, lower case accepted, NO_PROXY by host and domain suffix', () => {
  const url = (u: string) => new URL(u);
  assert.equal(proxyFor(url('https://api.nuget.org/x'), { HTTPS_PROXY: 'http://proxy:3128' })?.host, 'proxy:3128');
  assert.equal(proxyFor(url('https://api.nuget.org/x'), { https_proxy: 'proxy:8080' })?.href, 'http://proxy:8080/');
  assert.equal(proxyFor(url('https://api.nuget.org/x'), { HTTP_PROXY: 'http://proxy:3128' }), null);
  assert.equal(proxyFor(url('http://mirror.local/x'), { HTTP_PROXY: 'http://proxy:3128' })?.hostname, 'proxy');
  for (const noProxyValue of ['nuget.org', '.nuget.org', 'localhost, api.nuget.org:443', '*']) {
    assert.equal(proxyFor(url('https://api.nuget.org/x'), { HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: noProxyValue }), null, noProxyValue);
  }
  assert.notEqual(proxyFor(url('https://api.nuget.org/x'), { HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: 'get.org' }), null);
  assert.throws(() => proxyFor(url('https://a.b/'), { HTTPS_PROXY: 'http://[bad' }), (e: unknown) => e instanceof DownloadError && e.code === 'proxy');
});

test('an unreachable proxy is named as such, not as the target', () => withServer(async (server) => {
  const probe = createHttpServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const deadPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  for (const [url, env] of [[`${origin(server)}/file.bin`, { HTTP_PROXY: `http://127.0.0.1:${deadPort}` }], ['https://api.nuget.org/x', { HTTPS_PROXY: `http://127.0.0.1:${deadPort}` }]] as const) {
    await assert.rejects(downloadFile(url, dest(), { env, retries: 0 }), (e: unknown) => {
      assert.ok(e instanceof DownloadError && e.code === 'proxy', String(e));
      assert.match(e.message, new RegExp(`cannot reach the proxy 127\\.0\\.0\\.1:${deadPort} \\(ECONNREFUSED\\) set by HTTPS?_PROXY`));
      return true;
    });
  }
}));

test('an http URL goes through HTTP_PROXY in absolute form, with proxy credentials; NO_PROXY bypasses it', () => withServer(async (server) => {
  const proxy = await startProxy();
  try {
    const out = dest();
    const target = `${origin(server)}/file.bin`;
    await downloadFile(target, out, { env: { HTTP_PROXY: proxy.url } });
    assert.ok(readFileSync(out).equals(body));
    assert.deepEqual(proxy.seen, [`GET ${target} Basic ${Buffer.from('user:p@ss').toString('base64')}`]);
    await downloadFile(target, dest(), { env: { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' } });
    assert.equal(proxy.seen.length, 1);
  } finally {
    proxy.server.close();
  }
}));

const openssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

test('an https URL goes through HTTPS_PROXY with a CONNECT tunnel and TLS checked end to end', { skip: !openssl && 'no openssl to make a test certificate' }, async () => {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const tlsServer = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_req, res) => res.writeHead(200, { 'Content-Length': String(body.length) }).end(body));
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
  const proxy = await startProxy();
  try {
    const port = (tlsServer.address() as AddressInfo).port;
    const out = dest();
    await downloadFile(`https://127.0.0.1:${port}/file.bin`, out, { env: { HTTPS_PROXY: proxy.url }, ca: readFileSync(cert, 'utf8') });
    assert.ok(readFileSync(out).equals(body));
    assert.deepEqual(proxy.seen, [`CONNECT 127.0.0.1:${port}`]);
    // Without trusting the certificate the TLS check fails: the tunnel does not weaken it.
    await assert.rejects(downloadFile(`https://127.0.0.1:${port}/file.bin`, dest(), { env: { HTTPS_PROXY: proxy.url }, retries: 0 }),
      (e: unknown) => e instanceof DownloadError && e.code === 'tls' && /NODE_EXTRA_CA_CERTS/.test(e.message));
  } finally {
    proxy.server.close();
    tlsServer.close();
  }
});
