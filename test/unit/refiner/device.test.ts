// Which device the refiner's models load on: "auto" takes CUDA only once its libraries are
// installed, says in one line why it uses the CPU otherwise, and a device that fails to start falls
// back to the CPU with the next step in the log.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { cudaLibrariesPresent } from '../../../src/onnx/cuda-provider';
import { ModelHost } from '../../../src/refiner/host';
import { resolveDevice } from '../../../src/refiner/device';
import { tempRoot, tinyModel } from './fixtures';

const yes = () => true;
const no = () => false;

test('auto on Linux x64: CUDA once installed, else the CPU with the install step and the named alternative', () => {
  assert.deepEqual(resolveDevice('auto', 'linux', 'x64', yes), { device: 'cuda', note: 'device auto: trying cuda (its provider libraries are installed)' });
  assert.deepEqual(resolveDevice('auto', 'linux', 'x64', no), {
    device: 'cpu',
    note: 'device auto: using cpu (no CUDA provider installed: for an NVIDIA GPU, run `slhf gpu install-cuda` (in VS Code: "SLHF: Install CUDA Support"); WebGPU runs only when slhf.device is webgpu)',
  });
});

test('auto elsewhere: the CPU, naming the platform\'s providers; CUDA libraries are not looked for', () => {
  const never = () => assert.fail('CUDA is not looked for off Linux x64');
  assert.deepEqual(resolveDevice('auto', 'win32', 'x64', never), { device: 'cpu', note: 'device auto: using cpu (DirectML and WebGPU run only when slhf.device is dml or webgpu)' });
  assert.deepEqual(resolveDevice('auto', 'darwin', 'arm64', never), { device: 'cpu', note: 'device auto: using cpu (Core ML and WebGPU run only when slhf.device is coreml or webgpu)' });
  assert.equal(resolveDevice('auto', 'linux', 'arm64', never).device, 'cpu');
});

test('a named device is used as named, without a note', () => {
  for (const device of ['cpu', 'cuda', 'webgpu', 'dml', 'coreml'] as const) assert.deepEqual(resolveDevice(device, 'linux', 'x64', no), { device, note: null });
});

const { root, cleanup } = tempRoot('device');
let modelDir: string;
before(async () => {
  modelDir = await tinyModel(join(root, 'tiny'));
});
after(cleanup);

test('cuda without its libraries falls back to the CPU, and the log says to install them', { skip: (process.platform !== 'linux' || process.arch !== 'x64' || cudaLibrariesPresent()) && 'needs Linux x64 without the CUDA libraries' }, async () => {
  const logs: string[] = [];
  const host = new ModelHost({ cacheDir: join(root, 'cache'), device: 'cuda', log: (m) => logs.push(m) });
  host.configure({ follower: { spec: modelDir } });
  assert.equal(await host.use('follower', async (m) => m.device), 'cpu');
  assert.ok(logs.includes('device cuda is not available (the CUDA provider libraries are not installed: run `slhf gpu install-cuda` (in VS Code: "SLHF: Install CUDA Support")); falling back to cpu'), logs.join('\n'));
  await host.unloadAll();
});
