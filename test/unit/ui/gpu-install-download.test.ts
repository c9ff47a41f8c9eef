// "SLHF: Install CUDA Support" without VS Code: the progress bar it drives, its outcome messages, and
// cancellation, with the real installer against a local feed and a fake onnxruntime-node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installCudaProvider, type CudaInstallOptions } from '../../../src/onnx/cuda-provider';
import { installCudaSupport, type InstallUi } from '../../../src/ui/gpu-install-download';
import { buildNupkg, fakeOrtPackage, FakeNuget } from '../onnx/nuget-server';

const root = mkdtempSync(join(tmpdir(), 'slhf-gpu-ui-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

async function withFeed(fn: (server: FakeNuget, options: CudaInstallOptions) => Promise<void>): Promise<void> {
  const server = await new FakeNuget().start();
  server.add('1.30.0', buildNupkg({ version: '1.30.0', libraryBytes: 1_500_000 }).bytes);
  const { packageDir } = fakeOrtPackage(join(root, `case-${n++}`), '1.30.0');
  try {
    await fn(server, { baseUrl: server.url, ortPackageDir: packageDir, platform: 'linux', arch: 'x64', env: {} });
  } finally {
    await server.close();
  }
}

function recordingUi(abort = new AbortController()): { ui: InstallUi; updates: { message?: string; increment?: number }[]; abort: AbortController } {
  const updates: { message?: string; increment?: number }[] = [];
  return { ui: { report: (u) => updates.push(u), signal: abort.signal }, updates, abort };
}

test('a successful install fills the bar to 100 in order and ends with the next step', () => withFeed(async (_server, options) => {
  const { ui, updates } = recordingUi();
  const outcome = await installCudaSupport(ui, options);
  assert.equal(outcome.kind, 'installed');
  assert.match(outcome.message, /^CUDA support installed for ONNX Runtime 1\.30\.0\. With slhf\.device "auto" or "cuda" the models load on the GPU from their next load on .*`slhf gpu status`/);
  const increments = updates.map((u) => u.increment ?? 0);
  assert.ok(increments.every((i) => i >= 0), increments.join());
  assert.ok(Math.abs(increments.reduce((a, b) => a + b, 0) - 100) < 1e-9, `total ${increments.reduce((a, b) => a + b, 0)}`);
  const messages = updates.map((u) => u.message);
  assert.equal(messages[0], 'Downloading ONNX Runtime 1.30.0 CUDA libraries');
  assert.ok(messages.some((m) => /^Downloading \d+ of 1 MB$/.test(m ?? '')), messages.join('|'));
  assert.deepEqual(messages.slice(-3), ['Checking the package', 'Unpacking libonnxruntime_providers_shared.so', 'Unpacking libonnxruntime_providers_cuda.so']);
  const again = await installCudaSupport(recordingUi().ui, options);
  assert.equal(again.kind, 'already-installed');
  assert.match(again.message, /^CUDA support is already installed for ONNX Runtime 1\.30\.0\./);
}));

test('a failure is one message that starts with what failed and keeps the reason', () => withFeed(async (server, options) => {
  server.packages.clear();
  const outcome = await installCudaSupport(recordingUi().ui, options);
  assert.equal(outcome.kind, 'failed');
  assert.ok(outcome.kind === 'failed' && outcome.code === 'not-found');
  assert.match(outcome.message, /^Could not install CUDA support: Microsoft\.ML\.OnnxRuntime\.Gpu\.Linux 1\.30\.0 is not on http:\/\/127\.0\.0\.1:\d+/);
  const unexpected = await installCudaSupport(recordingUi().ui, options, () => Promise.reject(new TypeError('boom')));
  assert.deepEqual(unexpected, { kind: 'failed', code: 'unexpected', message: 'Could not install CUDA support: boom' });
}));

test('cancelling from the notification stops the install without an error', () => withFeed(async (_server, options) => {
  const { ui, abort } = recordingUi();
  const outcome = await installCudaSupport({ ...ui, report: (u) => /^Downloading [1-9]/.test(u.message ?? '') && abort.abort() }, options);
  assert.deepEqual(outcome, { kind: 'cancelled', message: 'CUDA support install cancelled; running it again picks up where it stopped.' });
  const resumed = await installCudaSupport(recordingUi().ui, options, (o) => installCudaProvider(o));
  assert.equal(resumed.kind, 'installed');
  assert.ok(resumed.kind === 'installed' && resumed.result.resumedFrom > 0);
}));
