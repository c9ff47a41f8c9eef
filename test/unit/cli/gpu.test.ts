// `slhf gpu`: registered in the CLI, its usage errors, the status report, and install-cuda's output
// for success and failure (the real installer, pointed at a fake onnxruntime-node and a local feed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../src/cli';
import { parseCommandArgs, UsageError } from '../../../src/cli/command';
import { makeGpuCommand } from '../../../src/cli/gpu';
import { installCudaProvider } from '../../../src/onnx/cuda-provider';
import { gpuStatus } from '../../../src/onnx/gpu-status';
import { buildNupkg, fakeOrtPackage, FakeNuget } from '../onnx/nuget-server';

const root = mkdtempSync(join(tmpdir(), 'slhf-gpu-cli-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), stdin: async () => '' });
  return { code, out, err };
}

test('gpu is listed in the help; a missing or unknown subcommand is a usage error', async () => {
  assert.match((await cli(['--help'])).out, /\n {2}gpu +GPU support: status of the execution providers; install-cuda downloads the CUDA provider\n/);
  for (const [argv, pattern] of [
    [['gpu'], /a subcommand is required: status or install-cuda/],
    [['gpu', 'frob'], /unknown subcommand 'frob'/],
    [['gpu', 'status', 'extra'], /unexpected arguments: extra/],
    [['gpu', 'status', '--force'], /--base-url and --force belong to install-cuda/],
    [['gpu', 'install-cuda', '--base-url', 'nuget.local'], /--base-url must be an http\(s\) URL/],
  ] as const) {
    const r = await cli([...argv]);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.err, pattern);
  }
});

test('gpu status --no-probe reports every provider without starting any', async () => {
  const r = await cli(['gpu', 'status', '--no-probe']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^onnxruntime-node \d+\.\d+\.\d+ \(\w+ \w+\); provider libraries load from .+\nONNX Runtime lists: cpu \(bundled\)/);
  for (const name of ['cpu', 'cuda', 'webgpu', 'dml', 'coreml']) assert.match(r.out, new RegExp(`\\n${name} +\\S`), name);
  assert.match(r.out, /\ncpu +not probed/);
});

test('gpu status probes: the CPU works, and every other provider either works or has a next step', async () => {
  const status = await gpuStatus({ probe: true });
  const byName = Object.fromEntries(status.providers.map((p) => [p.name, p]));
  assert.deepEqual(Object.keys(byName).sort(), ['coreml', 'cpu', 'cuda', 'dml', 'webgpu']);
  assert.equal(byName.cpu.state, 'works');
  for (const p of status.providers) {
    if (p.state === 'fails' || p.state === 'not-installed') assert.ok(p.next, `${p.name} has a next step`);
  }
  if (process.platform === 'linux') {
    assert.ok(status.vulkanLoader);
    // Without the Vulkan loader WebGPU cannot start, and the next step says to install it.
    if (!status.vulkanLoader.found) assert.match(byName.webgpu.next ?? '', /sudo apt install libvulkan1/);
  }
});

function io() {
  const r = { out: '', err: '' };
  return { r, io: { stdout: (t: string) => (r.out += t), stderr: (t: string) => (r.err += t), stdin: async () => '' } };
}

test('install-cuda prints progress, what it installed where, and the next step; failures exit 1 with the reason', async () => {
  const server = await new FakeNuget().start();
  const { packageDir, providerDir } = fakeOrtPackage(join(root, 'ok'), '1.30.0');
  server.add('1.30.0', buildNupkg({ version: '1.30.0' }).bytes);
  const command = makeGpuCommand({
    install: (options) => installCudaProvider({ ...options, ortPackageDir: packageDir, platform: 'linux', arch: 'x64', env: {} }),
    status: () => assert.fail('not used'),
  });
  const run = async (argv: string[]) => {
    const { r, io: stream } = io();
    const code = await command.run(parseCommandArgs(command, argv), stream);
    return { code, ...r };
  };
  try {
    const ok = await run(['install-cuda', '--base-url', server.url]);
    assert.equal(ok.code, 0, ok.err);
    const nupkgUrl = `${server.url}microsoft.ml.onnxruntime.gpu.linux/1.30.0/microsoft.ml.onnxruntime.gpu.linux.1.30.0.nupkg`;
    assert.ok(ok.err.startsWith(`Downloading Microsoft.ML.OnnxRuntime.Gpu.Linux 1.30.0 from ${nupkgUrl}\n`), ok.err);
    assert.match(ok.err, /\n( {2}\d+% \(0\.\d MB of 0\.2 MB\)\n)* {2}100% \(0\.2 MB of 0\.2 MB\)\nChecking the package\nUnpacking libonnxruntime_providers_shared\.so\nUnpacking libonnxruntime_providers_cuda\.so\n$/);
    assert.ok(ok.out.startsWith(`Installed the CUDA provider for onnxruntime-node 1.30.0 in ${providerDir}:\n  libonnxruntime_providers_shared.so  0.0 MB\n  libonnxruntime_providers_cuda.so  0.2 MB\nNext: \`slhf gpu status\``), ok.out);
    const again = await run(['install-cuda', '--base-url', server.url, '--json']);
    assert.equal(JSON.parse(again.out).status, 'already-installed');

    server.packages.clear();
    const missing = await run(['install-cuda', '--base-url', server.url, '--force']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^Downloading .*\nslhf gpu install-cuda: Microsoft\.ML\.OnnxRuntime\.Gpu\.Linux 1\.30\.0 is not on http:\/\/127\.0\.0\.1:\d+ \(/);
    const json = await run(['install-cuda', '--base-url', server.url, '--force', '--json']);
    assert.equal(JSON.parse(json.out).error, 'not-found');
  } finally {
    await server.close();
  }
});

test('install-cuda on another platform exits 3 and says what to use instead', async () => {
  const command = makeGpuCommand({ install: (options) => installCudaProvider({ ...options, platform: 'darwin', arch: 'arm64' }), status: () => assert.fail('not used') });
  const { r, io: stream } = io();
  assert.equal(await command.run(parseCommandArgs(command, ['install-cuda']), stream), 3);
  assert.match(r.err, /slhf gpu install-cuda: onnxruntime-node offers the CUDA provider on Linux x64 only, not on darwin arm64; use slhf\.device "coreml"/);
  assert.throws(() => parseCommandArgs(command, ['install-cuda', '--bogus']), UsageError);
});
