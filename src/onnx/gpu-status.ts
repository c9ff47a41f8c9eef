// What this machine offers for running our graphs on a GPU: the providers onnxruntime-node lists,
// whether each one actually starts (a one-op graph, run and checked), whether the CUDA libraries are
// installed and what they still lack, and on Linux whether WebGPU's Vulkan loader is there, each
// with the next step to take.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CUDA_LIBRARIES, cudaLibrariesPresent, cudaUnsupportedReason, INSTALL_CUDA_HINT, locateOrt } from './cuda-provider';
import { Graph } from './graph';
import { mul } from './ops/arithmetic';
import { explainProviderFailure, shortReason, VULKAN_HINT, type ProviderName } from './provider-hints';
import { ort } from './runtime';
import { serialize } from './serialize';

export type ProviderState = 'works' | 'fails' | 'not-installed' | 'not-on-this-platform' | 'not-probed';

export interface ProviderStatus {
  name: ProviderName;
  state: ProviderState;
  /** What was seen (the failure's reason, or where the libraries are). */
  detail: string;
  /** What to do next, or null when nothing is needed. */
  next: string | null;
}

export interface GpuStatus {
  ortVersion: string;
  platform: NodeJS.Platform;
  arch: string;
  /** Where ORT loads provider libraries from. */
  providerDir: string;
  /** onnxruntime-node's own list (bundled: shipped in the npm package). */
  listed: { name: string; bundled: boolean }[];
  cuda: { installed: boolean; unsupported: string | null; missingDependencies: string[] | null };
  /** Linux only: the Vulkan loader WebGPU (Dawn) needs; null elsewhere. */
  vulkanLoader: { found: string | null; searched: string[] } | null;
  providers: ProviderStatus[];
}

const LIBRARY_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib/x86_64-linux-gnu', '/lib/aarch64-linux-gnu', '/usr/lib64', '/lib64', '/usr/lib', '/usr/local/lib'];

/** Folders the dynamic loader searches: LD_LIBRARY_PATH, ld.so.conf.d entries, the usual system folders. */
function loaderDirs(env: NodeJS.ProcessEnv): string[] {
  const dirs = (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  try {
    for (const file of readdirSync('/etc/ld.so.conf.d').filter((f) => f.endsWith('.conf'))) {
      for (const line of readFileSync(join('/etc/ld.so.conf.d', file), 'utf8').split('\n')) if (line.trim().startsWith('/')) dirs.push(line.trim());
    }
  } catch {
    // no ld.so.conf.d: the system folders remain
  }
  return [...new Set([...dirs, ...LIBRARY_DIRS])];
}

export function findVulkanLoader(env: NodeJS.ProcessEnv = process.env): { found: string | null; searched: string[] } {
  const searched = loaderDirs(env);
  const dir = searched.find((d) => existsSync(join(d, 'libvulkan.so.1')));
  return { found: dir ? join(dir, 'libvulkan.so.1') : null, searched };
}

/** Libraries `ldd` cannot find for `library` (null when ldd is not available). */
function missingDependencies(library: string): Promise<string[] | null> {
  return new Promise((resolve) => {
    execFile('ldd', [library], { timeout: 10_000 }, (err, stdout) => {
      if (err && !stdout) return resolve(null);
      resolve([...stdout.matchAll(/^\s*(\S+)\s*=>\s*not found/gm)].map((m) => m[1]));
    });
  });
}

function probeModel(): Uint8Array {
  const g = new Graph('probe');
  g.output(mul(g.input('x', 'float32', [3]), 2), 'y');
  return serialize(g).bytes;
}

/** Starts a session on `device` and runs it: null when the answer is right, else the failure. */
async function probe(device: ProviderName, model: Uint8Array): Promise<string | null> {
  try {
    const session = await ort.InferenceSession.create(model, { executionProviders: [device], logSeverityLevel: 3 });
    try {
      const { y } = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2, 3]), [3]) });
      const got = Array.from(y.data as Float32Array);
      return got.join() === '2,4,6' ? null : `wrong result ${got.join(', ')} for 2 * [1, 2, 3]`;
    } finally {
      await session.release();
    }
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

const USE = (name: ProviderName) => `set slhf.device to ${name}${name === 'cuda' ? ' (or auto)' : ''}`;

/** The status of every provider slhf.device offers. `probe: false` only inspects files. */
export async function gpuStatus(options: { probe?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<GpuStatus> {
  const { platform, arch } = process;
  const env = options.env ?? process.env;
  const location = locateOrt();
  const listed = ort.listSupportedBackends().map((b) => ({ name: b.name, bundled: b.bundled }));
  const unsupported = cudaUnsupportedReason();
  const installed = !unsupported && cudaLibrariesPresent(location);
  const cudaLibrary = join(location.providerDir, CUDA_LIBRARIES[CUDA_LIBRARIES.length - 1]);
  const missing = installed && platform === 'linux' ? await missingDependencies(cudaLibrary) : null;
  const vulkanLoader = platform === 'linux' ? findVulkanLoader(env) : null;
  const model = probeModel();
  const providers: ProviderStatus[] = [];
  const tryProvider = async (name: ProviderName, fallbackNext: (failure: string) => string | null): Promise<ProviderStatus> => {
    if (!options.probe) return { name, state: 'not-probed', detail: 'not started (status without probing)', next: null };
    const failure = await probe(name, model);
    if (failure === null) return { name, state: 'works', detail: 'a test graph ran and gave the right answer', next: name === 'cpu' ? null : USE(name) };
    return { name, state: 'fails', detail: name === 'cuda' ? explainProviderFailure(name, failure, { cudaInstalled: installed }) : shortReason(failure), next: fallbackNext(failure) };
  };

  providers.push(await tryProvider('cpu', () => 'reinstall SLHF Refine: the CPU provider ships with it'));
  if (unsupported) providers.push({ name: 'cuda', state: 'not-on-this-platform', detail: unsupported, next: null });
  else if (!installed) providers.push({ name: 'cuda', state: 'not-installed', detail: `no CUDA provider libraries in ${location.providerDir}`, next: INSTALL_CUDA_HINT });
  else {
    providers.push(await tryProvider('cuda', () => missing && missing.length > 0
      ? `install ${missing.join(', ')} (CUDA 12 and cuDNN 9 libraries) and make them visible to the loader (LD_LIBRARY_PATH)`
      : 'check `nvidia-smi` (driver and GPU) and that CUDA 12 and cuDNN 9 libraries are on LD_LIBRARY_PATH'));
  }
  providers.push(await tryProvider('webgpu', () => platform !== 'linux' ? 'update the GPU driver'
    : vulkanLoader?.found ? `the Vulkan loader is at ${vulkanLoader.found}; install a GPU driver with Vulkan support (check with \`vulkaninfo --summary\`)`
      : VULKAN_HINT));
  for (const [name, home] of [['dml', 'win32'], ['coreml', 'darwin']] as const) {
    if (platform !== home) providers.push({ name, state: 'not-on-this-platform', detail: explainProviderFailure(name, '', { platform }), next: null });
    else providers.push(await tryProvider(name, () => 'update the GPU driver and operating system'));
  }
  return { ortVersion: location.version, platform, arch, providerDir: location.providerDir, listed, cuda: { installed, unsupported, missingDependencies: missing }, vulkanLoader, providers };
}
