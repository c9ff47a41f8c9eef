// Provider failures in words a user can act on: ORT's real messages (captured on a machine without a
// GPU) mapped to the next step, and the runtime passing those hints on when it falls back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../../src/onnx';
import { cudaLibrariesPresent } from '../../../src/onnx/cuda-provider';
import { explainProviderFailure, shortReason } from '../../../src/onnx/provider-hints';

// onnxruntime-node 1.30 on linux x64 without the Vulkan loader or the CUDA libraries.
const WEBGPU_NO_ADAPTER = '/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::Initialize(const onnxruntime::webgpu::WebGpuContextConfig&)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters\n';
const CUDA_NOT_LOADED = 'OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library';
const linux = { platform: 'linux' as const, arch: 'x64' };

test('WebGPU without an adapter: on Linux install the Vulkan loader and a driver; elsewhere update the driver', () => {
  assert.equal(explainProviderFailure('webgpu', WEBGPU_NO_ADAPTER, linux),
    "WebGPU found no GPU adapter: install the Vulkan loader (Debian/Ubuntu: sudo apt install libvulkan1) and a GPU driver with Vulkan support (NVIDIA's driver; Mesa's mesa-vulkan-drivers for AMD and Intel)");
  assert.equal(explainProviderFailure('webgpu', WEBGPU_NO_ADAPTER, { platform: 'win32' }), 'WebGPU found no GPU adapter: update the GPU driver (WebGPU runs over Direct3D 12 there)');
});

test('CUDA: missing provider libraries point to the install command; missing CUDA libraries are named', () => {
  assert.equal(explainProviderFailure('cuda', CUDA_NOT_LOADED, { ...linux, cudaInstalled: false }),
    'the CUDA provider libraries are not installed: run `slhf gpu install-cuda` (in VS Code: "SLHF: Install CUDA Support")');
  const depMissing = `${CUDA_NOT_LOADED}\nFailed to load library libonnxruntime_providers_cuda.so with error: libcublasLt.so.12: cannot open shared object file: No such file or directory`;
  assert.match(explainProviderFailure('cuda', depMissing, { ...linux, cudaInstalled: true }), /^the CUDA provider is installed but could not load libcublasLt\.so\.12: it needs an NVIDIA driver and the CUDA 12 and cuDNN 9 libraries/);
  assert.match(explainProviderFailure('cuda', CUDA_NOT_LOADED, { ...linux, cudaInstalled: true }), /could not load its dependencies: .*`slhf gpu status` lists what is missing/);
  assert.match(explainProviderFailure('cuda', 'CUDA failure 100: no CUDA-capable device is detected', { ...linux, cudaInstalled: true }), /^no usable NVIDIA GPU or driver/);
  assert.match(explainProviderFailure('cuda', 'anything', { platform: 'win32', arch: 'x64' }), /Linux x64 only, not on win32 x64; use slhf\.device "dml"/);
});

test('a provider of another platform says where it runs and what to choose here', () => {
  assert.equal(explainProviderFailure('dml', 'no available backend found. ERR: [dml] backend not found.', linux), 'DirectML (dml) runs on Windows only; choose cuda, webgpu or cpu here');
  assert.equal(explainProviderFailure('coreml', 'x', { platform: 'win32', arch: 'x64' }), 'Core ML (coreml) runs on macOS only; choose dml, webgpu or cpu here');
  assert.equal(explainProviderFailure('dml', 'x', { platform: 'linux', arch: 'arm64' }), 'DirectML (dml) runs on Windows only; choose webgpu or cpu here');
});

test('an unrecognized failure keeps its gist: the first line, without ORT\'s source location', () => {
  assert.equal(shortReason(WEBGPU_NO_ADAPTER), 'Failed to get a WebGPU adapter: No supported adapters');
  assert.equal(shortReason('\nplain reason\nmore'), 'plain reason');
  assert.equal(shortReason('x'.repeat(500)).length, 240);
});

function doubler(): E.ModelBytes {
  const g = new E.Graph('doubler');
  g.output(E.mul(g.input('x', 'float32', ['n']), 2), 'y');
  return E.serialize(g);
}

test('asking ORT for CUDA without its libraries fails with the install step in the error', { skip: cudaLibrariesPresent() && 'the CUDA libraries are installed here' }, async () => {
  await assert.rejects(E.createSession(doubler(), { device: 'cuda' }), (e: unknown) => {
    assert.ok(e instanceof E.ModelLoadError);
    assert.match(e.message, /cuda: .*Failed to load shared library\n {2}\(the CUDA provider libraries are not installed: run `slhf gpu install-cuda`/);
    return true;
  });
});

test('a fallback is logged as one line carrying the hint', { skip: process.platform !== 'linux' && 'the hint checked is Linux\'s' }, async () => {
  const logs: string[] = [];
  const session = await E.createSession(doubler(), { device: ['dml', 'cpu'], log: (m) => logs.push(m) });
  assert.equal(session.device, 'cpu');
  assert.deepEqual(logs, [`onnx: provider dml unavailable, falling back (${explainProviderFailure('dml', '')})`]);
  assert.ok(!logs[0].includes('\n'));
  await session.release();
});
