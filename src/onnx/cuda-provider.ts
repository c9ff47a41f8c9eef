// The CUDA execution provider on demand. onnxruntime-node bundles CPU and WebGPU (DirectML on
// Windows, Core ML on macOS) but not CUDA: its postinstall script fetches the CUDA provider
// libraries from NuGet, and this project skips that script (.npmrc) so that installs work offline.
// This module does the same download when the user asks: the Microsoft.ML.OnnxRuntime.Gpu.Linux
// package of the installed ORT version, from the NuGet flat container (or a mirror), checked and
// unpacked next to onnxruntime-node's binding, the only folder ORT loads provider libraries from.
// It loads no ONNX Runtime itself, so the VS Code extension host can run it.
import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, rename, rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fsyncPath } from '../base/atomic-file';
import { DownloadError, downloadFile, type DownloadOptions } from '../base/download';
import { extractZipEntry, readZipDirectory, readZipEntry, ZipError, type ZipEntry } from '../base/zip';
import { processAlive } from '../base/process-alive';

export const CUDA_PACKAGE_ID = 'Microsoft.ML.OnnxRuntime.Gpu.Linux';
export const NUGET_FLAT_CONTAINER = 'https://api.nuget.org/v3-flatcontainer/';
/** Where the libraries sit inside the package (onnxruntime-node's install-metadata.js, linux/x64:cuda12). */
export const PACKAGE_LIBRARY_DIR = 'runtimes/linux-x64/native/';
/**
 * The libraries installed, the shared bridge first: the CUDA library is what "installed" is judged
 * by, so it must appear last. TensorRT, which ORT's own script also takes, needs TensorRT on the
 * system and is not offered by slhf.device, so it is left out.
 */
export const CUDA_LIBRARIES = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'] as const;

export const INSTALL_CUDA_HINT = 'run `slhf gpu install-cuda` (in VS Code: "SLHF: Install CUDA Support")';

export type CudaInstallErrorCode =
  | 'unsupported-platform' | 'no-permission' | 'offline' | 'not-found' | 'http' | 'proxy'
  | 'incomplete' | 'bad-package' | 'checksum' | 'cancelled' | 'busy' | 'disk' | 'tls';

export class CudaInstallError extends Error {
  override name = 'CudaInstallError';
  constructor(message: string, readonly code: CudaInstallErrorCode) {
    super(message);
  }
}

export interface OrtLocation {
  /** onnxruntime-node's package folder. */
  packageDir: string;
  version: string;
  /** The folder of its binding and libonnxruntime, where provider libraries must be. */
  providerDir: string;
}

/** Finds onnxruntime-node without loading it. */
export function locateOrt(platform: NodeJS.Platform = process.platform, arch: string = process.arch, packageDir?: string): OrtLocation {
  const dir = packageDir ?? dirname(require.resolve('onnxruntime-node/package.json'));
  const version = String(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version);
  // The path binding.js requires the native module from.
  return { packageDir: dir, version, providerDir: join(dir, 'bin', 'napi-v6', platform, arch) };
}

export function cudaLibrariesPresent(location: OrtLocation = locateOrt()): boolean {
  return CUDA_LIBRARIES.every((name) => existsSync(join(location.providerDir, name)));
}

/** Why CUDA cannot be installed on this platform, or null where it can. */
export function cudaUnsupportedReason(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string | null {
  if (platform === 'linux' && arch === 'x64') return null;
  const instead = platform === 'win32' ? 'use slhf.device "dml" (DirectML, bundled) or "webgpu"'
    : platform === 'darwin' ? 'use slhf.device "coreml" (bundled) or "webgpu"'
      : 'use slhf.device "webgpu" or "cpu"';
  return `onnxruntime-node offers the CUDA provider on Linux x64 only, not on ${platform} ${arch}; ${instead}`;
}

export function cudaPackageUrl(version: string, baseUrl: string = NUGET_FLAT_CONTAINER): string {
  const id = CUDA_PACKAGE_ID.toLowerCase();
  const v = version.toLowerCase();
  return `${baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`}${id}/${v}/${id}.${v}.nupkg`;
}

export type InstallProgress =
  | { phase: 'start'; url: string; version: string }
  | { phase: 'download'; received: number; total: number | null }
  | { phase: 'verify' }
  | { phase: 'extract'; file: string };

export interface CudaInstallOptions {
  /** A NuGet flat-container base URL (a mirror); defaults to $SLHF_NUGET_URL, then nuget.org's. */
  baseUrl?: string;
  /** Download again even when the libraries are already there. */
  force?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: InstallProgress) => void;
  /** Where the package is downloaded (and a partial download kept to resume); defaults inside providerDir. */
  downloadDir?: string;
  /** For tests: another onnxruntime-node folder, platform, proxy environment, CA, retry policy. */
  ortPackageDir?: string;
  platform?: NodeJS.Platform;
  arch?: string;
  env?: NodeJS.ProcessEnv;
  ca?: string;
  retries?: number;
  idleTimeoutMs?: number;
}

export interface CudaInstallResult {
  status: 'installed' | 'already-installed';
  version: string;
  providerDir: string;
  url: string | null;
  files: { name: string; bytes: number }[];
  downloadedBytes: number;
  /** Bytes that an earlier, interrupted run had already fetched. */
  resumedFrom: number;
}

/** Fails early, before a large download, if the provider folder cannot take new files. */
function checkWritable(dir: string): void {
  const probe = join(dir, `.slhf-write-check-${process.pid}`);
  try {
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new CudaInstallError(
      `cannot write to ${dir} (${code}). ONNX Runtime loads provider libraries only from the folder of onnxruntime-node's binding, ` +
      'so they must go there: run the command as a user who may write to it (for a CLI installed as root: sudo slhf gpu install-cuda), ' +
      'or install SLHF Refine where you can write.', 'no-permission');
  }
}

/** One install at a time per folder: a second concurrent run would write the same partial file. */
function takeLock(dir: string): () => void {
  const lock = join(dir, 'install.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(lock, 'utf8'));
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && processAlive(holder)) {
        throw new CudaInstallError(`another CUDA install is running (process ${holder}); wait for it to finish`, 'busy');
      }
      rmSync(lock, { force: true });
    }
  }
  throw new CudaInstallError(`cannot take the install lock ${lock}`, 'busy');
}

function fromDownloadError(err: DownloadError, url: string, baseUrl: string | undefined, version: string): CudaInstallError {
  switch (err.code) {
    case 'offline':
      return new CudaInstallError(`${err.message}. Installing CUDA support needs internet access to ${new URL(url).origin}` +
        `${baseUrl ? '' : ' (or a NuGet mirror: --base-url or SLHF_NUGET_URL)'}; behind a proxy, set HTTPS_PROXY.`, 'offline');
    case 'not-found':
      return new CudaInstallError(`${CUDA_PACKAGE_ID} ${version} is not on ${new URL(url).origin} (${err.message}). ` +
        'The CUDA libraries must match onnxruntime-node\'s version exactly; if this is a mirror, add that version to it.', 'not-found');
    case 'incomplete':
      return new CudaInstallError(`${err.message} (the partial download is kept).`, 'incomplete');
    case 'oversize':
      return new CudaInstallError(err.message, 'bad-package');
    default:
      return new CudaInstallError(err.message, err.code);
  }
}

/** Checks that the package is the one asked for and holds the libraries; returns their entries. */
async function checkPackage(nupkg: string, url: string, version: string): Promise<ZipEntry[]> {
  const entries = await readZipDirectory(nupkg);
  const nuspec = [...entries.values()].find((e) => !e.name.includes('/') && e.name.toLowerCase().endsWith('.nuspec'));
  if (!nuspec) throw new ZipError('no .nuspec manifest at the top of the package', 'format');
  const manifest = (await readZipEntry(nupkg, nuspec)).toString('utf8');
  const id = /<id>\s*([^<]+?)\s*<\/id>/.exec(manifest)?.[1];
  const packaged = /<version>\s*([^<]+?)\s*<\/version>/.exec(manifest)?.[1];
  if (id?.toLowerCase() !== CUDA_PACKAGE_ID.toLowerCase() || packaged?.toLowerCase() !== version.toLowerCase()) {
    throw new CudaInstallError(`${url} holds ${id ?? '?'} ${packaged ?? '?'}, not ${CUDA_PACKAGE_ID} ${version}; it was removed.`, 'bad-package');
  }
  return CUDA_LIBRARIES.map((name) => {
    const entry = entries.get(PACKAGE_LIBRARY_DIR + name);
    if (!entry) throw new CudaInstallError(`${url} has no ${PACKAGE_LIBRARY_DIR}${name}; it was removed.`, 'bad-package');
    return entry;
  });
}

function isHttpUrl(text: string): boolean {
  try {
    return /^https?:$/.test(new URL(text).protocol);
  } catch {
    return false;
  }
}

/**
 * Downloads and installs the CUDA provider libraries for the installed onnxruntime-node. Every
 * failure is a CudaInstallError whose message says what to do; no library is ever left half
 * written (each is unpacked aside, checked, then renamed into place).
 */
export async function installCudaProvider(options: CudaInstallOptions = {}): Promise<CudaInstallResult> {
  const unsupported = cudaUnsupportedReason(options.platform, options.arch);
  if (unsupported) throw new CudaInstallError(unsupported, 'unsupported-platform');
  const ort = locateOrt(options.platform, options.arch, options.ortPackageDir);
  const sizes = () => CUDA_LIBRARIES.map((name) => ({ name, bytes: statSync(join(ort.providerDir, name)).size }));
  if (!options.force && cudaLibrariesPresent(ort)) {
    return { status: 'already-installed', version: ort.version, providerDir: ort.providerDir, url: null, files: sizes(), downloadedBytes: 0, resumedFrom: 0 };
  }
  const baseUrl = options.baseUrl ?? ((options.env ?? process.env).SLHF_NUGET_URL || undefined);
  const url = cudaPackageUrl(ort.version, baseUrl);
  if (!isHttpUrl(url)) throw new CudaInstallError(`the NuGet URL ${JSON.stringify(baseUrl)} is not an http(s) URL`, 'http');
  await mkdir(ort.providerDir, { recursive: true }).catch(() => undefined);
  checkWritable(ort.providerDir);
  const downloadDir = options.downloadDir ?? join(ort.providerDir, '.slhf-cuda-download');
  await mkdir(downloadDir, { recursive: true });
  const unlock = takeLock(downloadDir);
  const nupkg = join(downloadDir, `${CUDA_PACKAGE_ID.toLowerCase()}.${ort.version}.nupkg`);
  const temps = CUDA_LIBRARIES.map((name) => join(ort.providerDir, `${name}.slhf-tmp-${process.pid}`));
  try {
    const download: DownloadOptions = {
      signal: options.signal, env: options.env, ca: options.ca, retries: options.retries, idleTimeoutMs: options.idleTimeoutMs,
      onProgress: (received, total) => options.onProgress?.({ phase: 'download', received, total }),
    };
    // A whole package left by a run that stopped after downloading is checked again, not fetched again.
    let fetched = { bytes: existsSync(nupkg) ? statSync(nupkg).size : 0, resumedFrom: 0 };
    options.onProgress?.({ phase: 'start', url, version: ort.version });
    try {
      if (fetched.bytes === 0) fetched = await downloadFile(url, nupkg, download);
    } catch (err) {
      throw err instanceof DownloadError ? fromDownloadError(err, url, baseUrl, ort.version) : err;
    }
    options.onProgress?.({ phase: 'verify' });
    try {
      const entries = await checkPackage(nupkg, url, ort.version);
      for (let i = 0; i < entries.length; i++) {
        options.onProgress?.({ phase: 'extract', file: CUDA_LIBRARIES[i] });
        await extractZipEntry(nupkg, entries[i], temps[i], { mode: 0o755, signal: options.signal });
        fsyncPath(temps[i]);
      }
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw new CudaInstallError('cancelled; nothing was installed (the downloaded package is kept for the next run)', 'cancelled');
      // A package that fails its checks is useless to resume from: the next run starts afresh.
      if (err instanceof ZipError || err instanceof CudaInstallError) await rm(nupkg, { force: true });
      if (err instanceof ZipError) {
        throw new CudaInstallError(err.code === 'checksum'
          ? `the package from ${url} is corrupted (${err.message}); it was removed, run the command again to download it afresh.`
          : `the download from ${url} is not a valid NuGet package (${err.message}); it was removed. A proxy or mirror may have answered with something else.`,
        err.code === 'checksum' ? 'checksum' : 'bad-package');
      }
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') throw new CudaInstallError(`no space left to unpack the libraries into ${ort.providerDir} (${code}); free some space and run again.`, 'disk');
      throw err;
    }
    for (let i = 0; i < temps.length; i++) {
      await chmod(temps[i], 0o755);
      await rename(temps[i], join(ort.providerDir, CUDA_LIBRARIES[i]));
    }
    fsyncPath(ort.providerDir);
    await rm(nupkg, { force: true });
    return { status: 'installed', version: ort.version, providerDir: ort.providerDir, url, files: sizes(), downloadedBytes: fetched.bytes, resumedFrom: fetched.resumedFrom };
  } finally {
    for (const temp of temps) rmSync(temp, { force: true });
    unlock();
    // Only an empty folder goes: a partial download stays there to be resumed.
    if (!options.downloadDir) await rmdir(downloadDir).catch(() => undefined);
  }
}
