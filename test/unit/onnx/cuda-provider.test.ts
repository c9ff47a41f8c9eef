// The CUDA provider install against a local NuGet flat container and a fake onnxruntime-node folder:
// the happy path, and each failure leaving no half-written library behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CUDA_LIBRARIES, CudaInstallError, cudaLibrariesPresent, cudaPackageUrl, installCudaProvider, locateOrt,
  type CudaInstallErrorCode, type CudaInstallOptions, type InstallProgress,
} from '../../../src/onnx/cuda-provider';
import { buildNupkg, fakeOrtPackage, FakeNuget } from './nuget-server';

const VERSION = '1.30.0';
const root = mkdtempSync(join(tmpdir(), 'slhf-cuda-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

interface Setup {
  server: FakeNuget;
  providerDir: string;
  options: CudaInstallOptions;
}

async function withSetup(fn: (s: Setup) => Promise<void>, nupkg = buildNupkg({ version: VERSION })): Promise<void> {
  const server = await new FakeNuget().start();
  server.add(VERSION, nupkg.bytes);
  const { packageDir, providerDir } = fakeOrtPackage(join(root, `case-${n++}`), VERSION);
  try {
    await fn({ server, providerDir, options: { baseUrl: server.url, ortPackageDir: packageDir, platform: 'linux', arch: 'x64', env: {}, retries: 0 } });
  } finally {
    await server.close();
  }
}

/** The provider folder holds nothing but what an install may leave: whole libraries. */
function assertNoDebris(providerDir: string, libraries: readonly string[]): void {
  assert.deepEqual(readdirSync(providerDir).sort(), [...libraries].sort());
}

async function rejectsWith(promise: Promise<unknown>, code: CudaInstallErrorCode, pattern: RegExp): Promise<string> {
  let message = '';
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof CudaInstallError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    message = e.message;
    return true;
  });
  return message;
}

test('the package URL is the flat-container layout, lower-cased', () => {
  assert.equal(cudaPackageUrl('1.30.0'), 'https://api.nuget.org/v3-flatcontainer/microsoft.ml.onnxruntime.gpu.linux/1.30.0/microsoft.ml.onnxruntime.gpu.linux.1.30.0.nupkg');
  assert.equal(cudaPackageUrl('1.30.0', 'http://mirror/nuget'), 'http://mirror/nuget/microsoft.ml.onnxruntime.gpu.linux/1.30.0/microsoft.ml.onnxruntime.gpu.linux.1.30.0.nupkg');
});

test('the real onnxruntime-node is found without loading it, with its binding folder', () => {
  const ort = locateOrt();
  const pkg = JSON.parse(readFileSync(join(ort.packageDir, 'package.json'), 'utf8'));
  assert.equal(ort.version, pkg.version);
  assert.ok(existsSync(join(ort.providerDir, 'onnxruntime_binding.node')), ort.providerDir);
});

test('installs exactly the two libraries, byte for byte, executable, and cleans up the download', () => withSetup(async ({ server, providerDir, options }) => {
  const nupkg = buildNupkg({ version: VERSION });
  const phases: InstallProgress['phase'][] = [];
  const result = await installCudaProvider({ ...options, onProgress: (p) => phases.at(-1) !== p.phase && phases.push(p.phase) });
  assert.equal(result.status, 'installed');
  assert.equal(result.url, cudaPackageUrl(VERSION, server.url));
  assert.equal(result.downloadedBytes, nupkg.bytes.length);
  for (const name of CUDA_LIBRARIES) {
    assert.ok(readFileSync(join(providerDir, name)).equals(nupkg.libraries[name]), name);
    assert.equal(statSync(join(providerDir, name)).mode & 0o777, 0o755);
  }
  assert.deepEqual(result.files.map((f) => f.bytes), CUDA_LIBRARIES.map((name) => nupkg.libraries[name].length));
  assert.deepEqual(phases, ['start', 'download', 'verify', 'extract']);
  assertNoDebris(providerDir, CUDA_LIBRARIES);
  assert.ok(cudaLibrariesPresent(locateOrt('linux', 'x64', options.ortPackageDir)));
  // Installed already: nothing is fetched unless forced.
  const again = await installCudaProvider(options);
  assert.equal(again.status, 'already-installed');
  assert.equal(server.requests.length, 1);
  assert.equal((await installCudaProvider({ ...options, force: true })).status, 'installed');
  assert.equal(server.requests.length, 2);
}));

test('other platforms are refused before any request, naming what to use instead', () => withSetup(async ({ server, options }) => {
  await rejectsWith(installCudaProvider({ ...options, platform: 'win32' }), 'unsupported-platform', /Linux x64 only, not on win32 x64; use slhf.device "dml"/);
  await rejectsWith(installCudaProvider({ ...options, platform: 'darwin', arch: 'arm64' }), 'unsupported-platform', /"coreml"/);
  await rejectsWith(installCudaProvider({ ...options, arch: 'arm64' }), 'unsupported-platform', /not on linux arm64/);
  assert.equal(server.requests.length, 0);
}));

test('a version missing from the feed is a 404 that names the version', () => withSetup(async ({ server, providerDir, options }) => {
  server.packages.clear();
  await rejectsWith(installCudaProvider(options), 'not-found', /Microsoft\.ML\.OnnxRuntime\.Gpu\.Linux 1\.30\.0 is not on http:\/\/127\.0\.0\.1:\d+ .*must match onnxruntime-node's version exactly/);
  assertNoDebris(providerDir, []);
}));

test('no network: the message says internet access (or a mirror, or a proxy) is needed', () => withSetup(async ({ server, providerDir, options }) => {
  await server.close();
  await rejectsWith(installCudaProvider(options), 'offline', /cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)\. Installing CUDA support needs internet access .*HTTPS_PROXY/);
  await rejectsWith(installCudaProvider({ ...options, baseUrl: 'ftp://x/' }), 'http', /not an http\(s\) URL/);
  assertNoDebris(providerDir, []);
}));

test('a dropped download keeps its partial file, and the next run resumes it and installs', () => withSetup(async ({ server, providerDir, options }) => {
  server.faults.dropAfter = { bytes: 1_000_000, times: 1 };
  await rejectsWith(installCudaProvider(options), 'incomplete', /dropped 1 times .* run again to resume \(the partial download is kept\)/);
  assert.deepEqual(readdirSync(providerDir), ['.slhf-cuda-download']);
  assert.deepEqual(CUDA_LIBRARIES.filter((name) => existsSync(join(providerDir, name))), []);
  const result = await installCudaProvider(options);
  assert.ok(result.resumedFrom > 0 && result.resumedFrom <= 1_000_000, String(result.resumedFrom));
  assert.equal(server.requests.at(-1)!.range, `bytes=${result.resumedFrom}-`);
  assertNoDebris(providerDir, CUDA_LIBRARIES);
}, buildNupkg({ version: VERSION, libraryBytes: 2_000_000 })));

test('a corrupted package fails its checksum, installs nothing and is removed so the next run starts afresh', async () => {
  const good = buildNupkg({ version: VERSION });
  const bad = Buffer.from(good.bytes);
  // Flip a byte in the middle of the archive, inside the CUDA library's compressed data.
  bad[Math.floor(bad.length / 2)] ^= 0xff;
  await withSetup(async ({ server, providerDir, options }) => {
    const message = await rejectsWith(installCudaProvider(options), 'checksum', /is corrupted \(libonnxruntime_providers_cuda\.so|runtimes\/linux-x64\/native\/libonnxruntime_providers_cuda\.so/);
    assert.match(message, /it was removed, run the command again/);
    assertNoDebris(providerDir, []);
    server.add(VERSION, good.bytes);
    assert.equal((await installCudaProvider(options)).status, 'installed');
    assert.equal(server.requests.at(-1)!.range, null, 'downloaded afresh');
  }, { bytes: bad, libraries: good.libraries });
});

test('a package of another version, one without the libraries, or an HTML page is refused', async () => {
  for (const [bytes, pattern] of [
    [buildNupkg({ version: '1.29.0' }).bytes, /holds Microsoft\.ML\.OnnxRuntime\.Gpu\.Linux 1\.29\.0, not Microsoft\.ML\.OnnxRuntime\.Gpu\.Linux 1\.30\.0/],
    [buildNupkg({ version: VERSION, id: 'Microsoft.ML.OnnxRuntime' }).bytes, /holds Microsoft\.ML\.OnnxRuntime 1\.30\.0/],
    [buildNupkg({ version: VERSION, omit: 'libonnxruntime_providers_cuda.so' }).bytes, /has no runtimes\/linux-x64\/native\/libonnxruntime_providers_cuda\.so/],
    [Buffer.from('<html><body>Please log in to the proxy</body></html>'), /is not a valid NuGet package \(no end-of-central-directory record/],
  ] as const) {
    await withSetup(async ({ providerDir, options }) => {
      await rejectsWith(installCudaProvider(options), 'bad-package', pattern);
      assertNoDebris(providerDir, []);
    }, { bytes: bytes as Buffer, libraries: {} });
  }
});

test('a provider folder that cannot be written is reported before downloading anything', () => withSetup(async ({ server, options }) => {
  // Root may write anywhere a mode forbids, so as root the folder is a link into sysfs, which refuses new files.
  const pkg = options.ortPackageDir!;
  const providerDir = join(pkg, 'bin', 'napi-v6', 'linux', 'x64');
  if (process.getuid?.() === 0) {
    rmSync(providerDir, { recursive: true });
    symlinkSync('/sys/kernel', providerDir);
  } else {
    chmodSync(providerDir, 0o555);
  }
  try {
    await rejectsWith(installCudaProvider(options), 'no-permission', /cannot write to .*x64 \((EACCES|EPERM|EROFS)\)\. ONNX Runtime loads provider libraries only from the folder of onnxruntime-node's binding/);
    assert.equal(server.requests.length, 0);
  } finally {
    if (process.getuid?.() !== 0) chmodSync(providerDir, 0o755);
  }
}));

test('a second install while one runs is refused; a lock left by a dead process is taken over', () => withSetup(async ({ options, providerDir }) => {
  const lockDir = join(providerDir, '.slhf-cuda-download');
  mkdirSync(lockDir);
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    writeFileSync(join(lockDir, 'install.lock'), String(sleeper.pid));
    await rejectsWith(installCudaProvider(options), 'busy', new RegExp(`another CUDA install is running \\(process ${sleeper.pid}\\)`));
  } finally {
    sleeper.kill();
    await new Promise((resolve) => sleeper.once('exit', resolve));
  }
  assert.equal((await installCudaProvider(options)).status, 'installed');
  assertNoDebris(providerDir, CUDA_LIBRARIES);
}));

test('cancelling during the download installs nothing and says so', () => withSetup(async ({ providerDir, options }) => {
  const abort = new AbortController();
  await rejectsWith(installCudaProvider({ ...options, signal: abort.signal, onProgress: (p) => p.phase === 'download' && p.received > 100_000 && abort.abort() }), 'cancelled', /cancelled/);
  assert.deepEqual(CUDA_LIBRARIES.filter((name) => existsSync(join(providerDir, name))), []);
}, buildNupkg({ version: VERSION, libraryBytes: 2_000_000 })));
