// Turns an execution provider's load failure (ONNX Runtime's or transformers.js's error text) into
// one line a user can act on: what is missing and the next step.
import { cudaLibrariesPresent, cudaUnsupportedReason, INSTALL_CUDA_HINT } from './cuda-provider';

export type ProviderName = 'cpu' | 'cuda' | 'dml' | 'coreml' | 'webgpu';

export interface HintContext {
  platform?: NodeJS.Platform;
  arch?: string;
  /** Whether the CUDA provider libraries are installed; looked up when absent. */
  cudaInstalled?: boolean;
}

export const VULKAN_HINT = 'install the Vulkan loader (Debian/Ubuntu: sudo apt install libvulkan1) and a GPU driver with Vulkan support (NVIDIA\'s driver; Mesa\'s mesa-vulkan-drivers for AMD and Intel)';

const NO_ADAPTER = /No supported adapters|Failed to get a WebGPU adapter/i;
const LIBRARY_LOAD = /Failed to load (shared )?library|cannot open shared object/i;
const NO_DEVICE = /no CUDA-capable device|cudaErrorNoDevice|CUDA driver version is insufficient|cudaErrorInsufficientDriver/i;

/** The gist of an error: its first line without ORT's source location, at most 240 characters. */
export function shortReason(message: string): string {
  const line = message.split('\n').find((l) => l.trim() !== '') ?? message;
  // ORT prefixes messages with its source location and the failed condition; the reason is at the end.
  const reason = line.includes(' was false. ') ? line.slice(line.lastIndexOf(' was false. ') + 11) : line;
  const trimmed = reason.trim();
  return trimmed.length > 240 ? `${trimmed.slice(0, 237)}...` : trimmed;
}

function installed(context: HintContext): boolean {
  if (context.cudaInstalled !== undefined) return context.cudaInstalled;
  try {
    return cudaLibrariesPresent();
  } catch {
    return false;
  }
}

function cudaHint(message: string, context: HintContext): string {
  if (!installed(context)) return `the CUDA provider libraries are not installed: ${INSTALL_CUDA_HINT}`;
  if (NO_DEVICE.test(message)) return `no usable NVIDIA GPU or driver (${shortReason(message)})`;
  if (LIBRARY_LOAD.test(message)) {
    const missing = [...message.matchAll(/(lib[\w.+-]+?\.so[\d.]*): cannot open shared object/g)].map((m) => m[1]).find((lib) => !lib.startsWith('libonnxruntime_providers'));
    return `the CUDA provider is installed but could not load ${missing ?? 'its dependencies'}: it needs an NVIDIA driver and the CUDA 12 and cuDNN 9 ` +
      'libraries on the loader path (LD_LIBRARY_PATH); `slhf gpu status` lists what is missing';
  }
  return shortReason(message);
}

/** One line: why `device` could not start, and what to do about it. */
export function explainProviderFailure(device: string, message: string, context: HintContext = {}): string {
  const platform = context.platform ?? process.platform;
  const choices = () => `choose ${[...(platform === 'win32' ? ['dml'] : platform === 'darwin' ? ['coreml'] : cudaUnsupportedReason(platform, context.arch ?? process.arch) ? [] : ['cuda']), 'webgpu'].join(', ')} or cpu here`;
  if (device === 'dml' && platform !== 'win32') return `DirectML (dml) runs on Windows only; ${choices()}`;
  if (device === 'coreml' && platform !== 'darwin') return `Core ML (coreml) runs on macOS only; ${choices()}`;
  if (device === 'cuda') {
    const unsupported = cudaUnsupportedReason(platform, context.arch ?? process.arch);
    return unsupported ?? cudaHint(message, context);
  }
  if (device === 'webgpu' && NO_ADAPTER.test(message)) {
    if (platform === 'linux') return `WebGPU found no GPU adapter: ${VULKAN_HINT}`;
    return `WebGPU found no GPU adapter: update the GPU driver${platform === 'win32' ? ' (WebGPU runs over Direct3D 12 there)' : ''}`;
  }
  return shortReason(message);
}
