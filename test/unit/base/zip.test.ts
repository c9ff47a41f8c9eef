// The zip reader against archives written by Python's zipfile (an independent implementation),
// and its refusal of truncated or corrupted archives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractZipEntry, readZipDirectory, readZipEntry, ZipError } from '../../../src/base/zip';
import { buildZip, fakeLibrary } from '../onnx/nuget-server';

const dir = mkdtempSync(join(tmpdir(), 'slhf-zip-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import zipfile'], { stdio: 'ignore' }).status === 0);

const contents: Record<string, Buffer> = {
  'runtimes/linux-x64/native/lib.so': fakeLibrary(7, 300_000),
  'text/repeated.txt': Buffer.from('abc'.repeat(50_000)),
  'empty.bin': Buffer.alloc(0),
  'naïve/ünïcode.txt': Buffer.from('unicode name'),
};

test('reads and extracts an archive written by Python zipfile (stored and deflated entries)', { skip: !python && 'no python3 with zipfile' }, async () => {
  const archive = join(dir, 'py.zip');
  const manifest: [string, string, boolean][] = Object.entries(contents).map(([name], i) => {
    const file = join(dir, `src-${i}`);
    writeFileSync(file, contents[name]);
    return [name, file, i % 2 === 0];
  });
  const script = 'import json,sys,zipfile\nz=zipfile.ZipFile(sys.argv[1],"w")\nfor name,path,deflate in json.loads(sys.argv[2]):\n' +
    ' z.write(path,name,zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED)\nz.comment=b"written by python"\nz.close()';
  const run = spawnSync(python!, ['-c', script, archive, JSON.stringify(manifest)], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const entries = await readZipDirectory(archive);
  assert.deepEqual([...entries.keys()].sort(), Object.keys(contents).sort());
  for (const [name, data] of Object.entries(contents)) {
    const out = join(dir, 'out.bin');
    await extractZipEntry(archive, entries.get(name)!, out);
    assert.ok(readFileSync(out).equals(data), name);
    assert.ok((await readZipEntry(archive, entries.get(name)!)).equals(data), name);
  }
});

test('the test fixture writer makes archives Python zipfile accepts', { skip: !python && 'no python3 with zipfile' }, () => {
  const archive = join(dir, 'fixture.zip');
  writeFileSync(archive, buildZip(Object.entries(contents).map(([name, data], i) => ({ name, data, store: i === 1 }))));
  const check = 'import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint("\\n".join(sorted(z.namelist())))';
  const run = spawnSync(python!, ['-c', check, archive], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(run.stdout.trim().split('\n'), Object.keys(contents).sort());
});

test('a truncated archive or something else is refused as not a zip', async () => {
  const whole = buildZip([{ name: 'a.so', data: fakeLibrary(1, 10_000) }]);
  for (const [label, bytes] of [['truncated', whole.subarray(0, whole.length - 30)], ['html', Buffer.from('<html>proxy login</html>')], ['empty', Buffer.alloc(0)]] as const) {
    const path = join(dir, `${label}.zip`);
    writeFileSync(path, bytes);
    await assert.rejects(readZipDirectory(path), (e: unknown) => e instanceof ZipError && e.code === 'format', label);
  }
});

test('flipped bytes inside an entry fail its size or CRC-32 check, stored or deflated', async () => {
  const data = fakeLibrary(9, 50_000);
  for (const store of [true, false]) {
    const bytes = buildZip([{ name: 'lib.so', data, store }]);
    bytes[30 + 'lib.so'.length + 1000] ^= 0xff;
    const path = join(dir, `corrupt-${store}.zip`);
    writeFileSync(path, bytes);
    const [entry] = (await readZipDirectory(path)).values();
    await assert.rejects(extractZipEntry(path, entry, join(dir, 'x.so')), (e: unknown) => e instanceof ZipError && e.code === 'checksum', `store=${store}`);
    await assert.rejects(readZipEntry(path, entry), (e: unknown) => e instanceof ZipError && e.code === 'checksum', `store=${store}`);
  }
});

test('readZipEntry refuses an entry larger than asked for', async () => {
  const path = join(dir, 'big.zip');
  writeFileSync(path, buildZip([{ name: 'big', data: Buffer.alloc(5000) }]));
  const [entry] = (await readZipDirectory(path)).values();
  await assert.rejects(readZipEntry(path, entry, 4096), /5000 bytes is more than the 4096 expected/);
});

/** A deflated entry of `inflated` zero bytes whose headers declare only `declared` (a zip bomb's lie). */
function lyingZip(inflated: number, declared: number): Buffer {
  const bytes = buildZip([{ name: 'bomb.nuspec', data: Buffer.alloc(inflated) }]);
  bytes.writeUInt32LE(declared, 22); // local header: uncompressed size
  const central = bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  bytes.writeUInt32LE(declared, central + 24);
  return bytes;
}

test('an entry that inflates past its declared size is stopped at that size, not after inflating it all', async () => {
  const path = join(dir, 'bomb.zip');
  writeFileSync(path, lyingZip(64 << 20, 1000));
  const [entry] = (await readZipDirectory(path)).values();
  const out = join(dir, 'bomb.out');
  await assert.rejects(extractZipEntry(path, entry, out), (e: unknown) => e instanceof ZipError && e.code === 'checksum' && /inflates past its declared 1000 bytes/.test(e.message));
  // Before: all 64 MiB were written, then the size was checked.
  assert.ok(!existsSync(out) || statSync(out).size <= 1000, `${statSync(out).size} bytes written`);
  await assert.rejects(readZipEntry(path, entry), (e: unknown) => e instanceof ZipError && e.code === 'checksum' && /inflates past its declared 1000 bytes/.test(e.message));
});

test('a stored entry whose sizes disagree is refused before it is read', async () => {
  const bytes = buildZip([{ name: 'x.so', data: Buffer.alloc(5000, 1), store: true }]);
  bytes.writeUInt32LE(10, bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])) + 24);
  const path = join(dir, 'stored-lie.zip');
  writeFileSync(path, bytes);
  const [entry] = (await readZipDirectory(path)).values();
  await assert.rejects(readZipEntry(path, entry), (e: unknown) => e instanceof ZipError && e.code === 'format' && /stored entry .*5000 bytes.* declares 10/.test(e.message));
});
