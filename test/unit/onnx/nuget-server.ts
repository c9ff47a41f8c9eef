// Test stand-ins for NuGet: a zip writer (checked against unzip/python in zip.test.ts), a .nupkg
// shaped like Microsoft.ML.OnnxRuntime.Gpu.Linux, a fake onnxruntime-node folder, and a local
// flat-container server with Range support and injectable faults.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';

export interface ZipInput {
  name: string;
  data: Buffer;
  store?: boolean;
}

/** A plain zip archive (no zip64, no data descriptors). */
export function buildZip(files: ZipInput[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const f of files) {
    const body = f.store ? f.data : deflateRawSync(f.data);
    const name = Buffer.from(f.name, 'utf8');
    const crc = crc32(f.data) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(f.store ? 0 : 8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(f.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt16LE(f.store ? 0 : 8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(f.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

export const PACKAGE_ID = 'Microsoft.ML.OnnxRuntime.Gpu.Linux';

/** Deterministic pseudo-random bytes standing in for a shared library (incompressible, like one). */
export function fakeLibrary(seed: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export interface Nupkg {
  bytes: Buffer;
  libraries: Record<string, Buffer>;
}

export function buildNupkg(options: { version: string; id?: string; omit?: string; libraryBytes?: number }): Nupkg {
  const size = options.libraryBytes ?? 200_000;
  const libraries: Record<string, Buffer> = {
    'libonnxruntime_providers_shared.so': fakeLibrary(1, 5_000),
    'libonnxruntime_providers_cuda.so': fakeLibrary(2, size),
    'libonnxruntime_providers_tensorrt.so': fakeLibrary(3, 7_000),
    'libonnxruntime.so': fakeLibrary(4, 9_000),
  };
  const nuspec = `<?xml version="1.0" encoding="utf-8"?>\n<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">\n` +
    `  <metadata>\n    <id>${options.id ?? PACKAGE_ID}</id>\n    <version>${options.version}</version>\n  </metadata>\n</package>\n`;
  const files: ZipInput[] = [
    { name: '_rels/.rels', data: Buffer.from('<Relationships/>') },
    { name: `${options.id ?? PACKAGE_ID}.nuspec`, data: Buffer.from(nuspec) },
    ...Object.entries(libraries).filter(([name]) => name !== options.omit).map(([name, data]) => ({ name: `runtimes/linux-x64/native/${name}`, data })),
    { name: '[Content_Types].xml', data: Buffer.from('<Types/>'), store: true },
  ];
  return { bytes: buildZip(files), libraries };
}

/** A folder shaped like node_modules/onnxruntime-node, with an empty provider folder. */
export function fakeOrtPackage(root: string, version: string): { packageDir: string; providerDir: string } {
  const packageDir = join(root, 'onnxruntime-node');
  const providerDir = join(packageDir, 'bin', 'napi-v6', 'linux', 'x64');
  mkdirSync(providerDir, { recursive: true });
  writeFileSync(join(packageDir, 'package.json'), JSON.stringify({ name: 'onnxruntime-node', version }));
  return { packageDir, providerDir };
}

export interface Faults {
  /** Close the connection after this many body bytes, for this many requests. */
  dropAfter?: { bytes: number; times: number };
  /** Answer every request with this status. */
  status?: number;
  /** Serve this instead of the package. */
  body?: Buffer;
  /** Answer Range requests with the whole file (200), as some servers do. */
  ignoreRange?: boolean;
  /** Answer Range requests with a 206 for the whole file instead of the part asked for. */
  wrongRange?: boolean;
  /** Path prefix -> where to redirect it (302). */
  redirect?: [string, string];
}

export class FakeNuget {
  readonly requests: { path: string; range: string | null }[] = [];
  readonly packages = new Map<string, Buffer>();
  faults: Faults = {};
  url = '';
  private readonly server: Server = createServer((req, res) => this.serve(req, res));

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v3-flatcontainer/`;
    return this;
  }

  add(version: string, bytes: Buffer): void {
    const id = PACKAGE_ID.toLowerCase();
    this.packages.set(`/v3-flatcontainer/${id}/${version}/${id}.${version}.nupkg`, bytes);
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push({ path: req.url ?? '', range: req.headers.range ?? null });
    if (this.faults.status) return void res.writeHead(this.faults.status).end('error page');
    const redirect = this.faults.redirect;
    if (redirect && req.url?.startsWith(redirect[0])) return void res.writeHead(302, { Location: redirect[1] + req.url.slice(redirect[0].length) }).end();
    const body = this.faults.body ?? this.packages.get(req.url ?? '');
    if (!body) return void res.writeHead(404, { 'Content-Type': 'application/xml' }).end('<Error><Code>BlobNotFound</Code></Error>');
    const range = this.faults.ignoreRange ? null : /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = range && !this.faults.wrongRange ? Number(range[1]) : 0;
    if (start >= body.length && range) return void res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
    const part = body.subarray(start);
    res.writeHead(range ? 206 : 200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(part.length),
      ...(range ? { 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    const drop = this.faults.dropAfter;
    if (drop && drop.times > 0 && drop.bytes < part.length) {
      drop.times--;
      // A clean close (FIN) after the bytes: a reset could discard data the client has not read yet.
      res.write(part.subarray(0, drop.bytes), () => res.socket?.end());
    } else {
      res.end(part);
    }
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
