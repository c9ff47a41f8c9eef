// `slhf gpu status` and `slhf gpu install-cuda`: what this machine offers for the GPU, and the
// on-demand download of the CUDA provider libraries.
import { UsageError, type CliIO, type Command } from './command';
import { CUDA_PACKAGE_ID, CudaInstallError, installCudaProvider, type CudaInstallOptions, type CudaInstallResult, type InstallProgress } from '../onnx/cuda-provider';
import type { GpuStatus } from '../onnx/gpu-status';

const MB = 1024 * 1024;
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

export interface GpuCommandDeps {
  install: (options: CudaInstallOptions) => Promise<CudaInstallResult>;
  status: (options: { probe: boolean }) => Promise<GpuStatus>;
}

/** Progress lines for a terminal or a log: each phase once, the download every 10%. */
export function progressPrinter(write: (line: string) => void): (p: InstallProgress) => void {
  let lastDecile = -1;
  return (p) => {
    if (p.phase === 'download') {
      if (p.total === null) {
        const step = Math.floor(p.received / (25 * MB));
        if (step > lastDecile) write(`  ${mb(p.received)} received`);
        lastDecile = Math.max(lastDecile, step);
        return;
      }
      const decile = Math.floor((10 * p.received) / p.total);
      if (decile > lastDecile) write(`  ${decile * 10}% (${mb(p.received)} of ${mb(p.total)})`);
      lastDecile = Math.max(lastDecile, decile);
    } else if (p.phase === 'start') write(`Downloading ${CUDA_PACKAGE_ID} ${p.version} from ${p.url}`);
    else if (p.phase === 'verify') write('Checking the package');
    else write(`Unpacking ${p.file}`);
  };
}

export function formatInstall(result: CudaInstallResult): string {
  const files = result.files.map((f) => `  ${f.name}  ${mb(f.bytes)}`).join('\n');
  const head = result.status === 'already-installed'
    ? `The CUDA provider for onnxruntime-node ${result.version} is already installed in ${result.providerDir} (--force downloads it again):`
    : `Installed the CUDA provider for onnxruntime-node ${result.version} in ${result.providerDir}` +
      `${result.resumedFrom > 0 ? ` (download resumed at ${mb(result.resumedFrom)})` : ''}:`;
  return [
    head,
    files,
    'Next: `slhf gpu status` checks that CUDA starts here (it needs an NVIDIA driver and the CUDA 12 and cuDNN 9 libraries);',
    'slhf.device "auto" now tries CUDA first, "cuda" asks for it explicitly.',
  ].join('\n');
}

const STATE_WORDS: Record<string, string> = {
  works: 'works', fails: 'fails', 'not-installed': 'not installed', 'not-on-this-platform': 'not on this platform', 'not-probed': 'not probed',
};

export function formatStatus(s: GpuStatus): string {
  const lines = [
    `onnxruntime-node ${s.ortVersion} (${s.platform} ${s.arch}); provider libraries load from ${s.providerDir}`,
    `ONNX Runtime lists: ${s.listed.map((b) => `${b.name} (${b.bundled ? 'bundled' : 'separate download'})`).join(', ')}`,
    '',
  ];
  for (const p of s.providers) {
    lines.push(`${p.name.padEnd(7)} ${STATE_WORDS[p.state].padEnd(21)} ${p.detail}`);
    if (p.next) lines.push(`${''.padEnd(29)} next: ${p.next}`);
  }
  if (s.cuda.missingDependencies && s.cuda.missingDependencies.length > 0) lines.push('', `CUDA libraries the loader cannot find: ${s.cuda.missingDependencies.join(', ')}`);
  if (s.vulkanLoader) {
    lines.push('', s.vulkanLoader.found
      ? `Vulkan loader (WebGPU needs it): ${s.vulkanLoader.found}`
      : `Vulkan loader (WebGPU needs it): libvulkan.so.1 not found in ${s.vulkanLoader.searched.join(', ')}`);
  }
  return lines.join('\n');
}

const USAGE = [
  'Usage: slhf gpu status [--no-probe] [--json]',
  '       slhf gpu install-cuda [--base-url URL] [--force] [--json]',
  '',
  'status        lists the execution providers, starts each on a one-op graph (unless --no-probe) and',
  '              says what to do next: install the CUDA libraries, the Vulkan loader, a driver.',
  'install-cuda  downloads Microsoft.ML.OnnxRuntime.Gpu.Linux for the installed onnxruntime-node version',
  '              from NuGet (Linux x64 only; about 300 MB) and unpacks its CUDA provider libraries next to',
  '              onnxruntime-node\'s binding. An interrupted download resumes on the next run.',
  '  --base-url URL  a NuGet flat-container URL (a mirror); also $SLHF_NUGET_URL.',
  '                  Default https://api.nuget.org/v3-flatcontainer/. HTTPS_PROXY/HTTP_PROXY/NO_PROXY apply.',
  '  --force         download and unpack again even if the libraries are there.',
].join('\n');

async function installCuda(deps: GpuCommandDeps, values: Record<string, unknown>, io: CliIO): Promise<number> {
  const json = values.json === true;
  const baseUrl = typeof values['base-url'] === 'string' ? values['base-url'] : undefined;
  if (baseUrl !== undefined && !/^https?:\/\//.test(baseUrl)) throw new UsageError(`--base-url must be an http(s) URL, got ${JSON.stringify(baseUrl)}.`);
  const write = (line: string) => io.stderr(`${line}\n`);
  try {
    const result = await deps.install({ baseUrl, force: values.force === true, onProgress: json ? undefined : progressPrinter(write), signal: io.signal });
    io.stdout(json ? `${JSON.stringify(result)}\n` : `${formatInstall(result)}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof CudaInstallError)) throw err;
    if (json) io.stdout(`${JSON.stringify({ error: err.code, message: err.message })}\n`);
    io.stderr(`slhf gpu install-cuda: ${err.message}\n`);
    return err.code === 'unsupported-platform' ? 3 : 1;
  }
}

/** The command, with its installer and status probe injectable for tests. */
export function makeGpuCommand(deps: GpuCommandDeps): Command {
  return {
    name: 'gpu',
    summary: 'GPU support: status of the execution providers; install-cuda downloads the CUDA provider',
    usage: USAGE,
    options: { json: { type: 'boolean' }, 'no-probe': { type: 'boolean' }, 'base-url': { type: 'string' }, force: { type: 'boolean' } },
    positionals: true,
    async run(args, io) {
      const [sub, ...extra] = args.positionals;
      if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}\n\n${USAGE}`);
      if (sub === 'install-cuda') return installCuda(deps, args.values, io);
      if (sub === 'status') {
        if (args.values['base-url'] !== undefined || args.values.force !== undefined) throw new UsageError(`--base-url and --force belong to install-cuda\n\n${USAGE}`);
        const status = await deps.status({ probe: args.values['no-probe'] !== true });
        io.stdout(args.values.json ? `${JSON.stringify(status)}\n` : `${formatStatus(status)}\n`);
        return 0;
      }
      throw new UsageError(`${sub === undefined ? 'a subcommand is required' : `unknown subcommand '${sub}'`}: status or install-cuda\n\n${USAGE}`);
    },
  };
}

/** The `slhf` subcommands about GPUs; ONNX Runtime is loaded only when `status` runs. */
export const gpuCommands: Command[] = [makeGpuCommand({
  install: installCudaProvider,
  status: async (options) => {
    const { ort } = await import('../onnx/runtime');
    // The probes' failures are reported below in words; ORT's own error log would repeat them in red.
    ort.env.logLevel = 'fatal';
    return (await import('../onnx/gpu-status')).gpuStatus(options);
  },
})];
