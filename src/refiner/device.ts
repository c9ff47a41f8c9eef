// The device setting and what "auto" resolves to, apart from the host so that the editor's panel can
// name the device without loading the model code.
import { cudaLibrariesPresent, cudaUnsupportedReason, INSTALL_CUDA_HINT } from '../onnx/cuda-provider';

export type DeviceSetting = 'auto' | 'cpu' | 'cuda' | 'webgpu' | 'dml' | 'coreml';
export const DEVICE_SETTINGS: readonly DeviceSetting[] = ['auto', 'cpu', 'cuda', 'webgpu', 'dml', 'coreml'];

function cudaInstalled(): boolean {
  try {
    return cudaLibrariesPresent();
  } catch {
    return false;
  }
}

/**
 * The device a setting asks for, and for "auto" a one-line note saying why. "auto" takes CUDA where
 * its provider libraries were installed (a user's explicit step) and the CPU otherwise: WebGPU,
 * DirectML and Core ML are not measured faster than the CPU for generation yet, so they run only
 * when named.
 */
export function resolveDevice(setting: DeviceSetting, platform: NodeJS.Platform = process.platform, arch: string = process.arch, cuda = cudaInstalled): { device: Exclude<DeviceSetting, 'auto'>; note: string | null } {
  if (setting !== 'auto') return { device: setting, note: null };
  const cudaPossible = cudaUnsupportedReason(platform, arch) === null;
  if (cudaPossible && cuda()) return { device: 'cuda', note: 'device auto: trying cuda (its provider libraries are installed)' };
  const others = platform === 'win32' ? 'DirectML and WebGPU run only when slhf.device is dml or webgpu'
    : platform === 'darwin' ? 'Core ML and WebGPU run only when slhf.device is coreml or webgpu'
      : 'WebGPU runs only when slhf.device is webgpu';
  const cudaStep = cudaPossible ? `no CUDA provider installed: for an NVIDIA GPU, ${INSTALL_CUDA_HINT}; ` : '';
  return { device: 'cpu', note: `device auto: using cpu (${cudaStep}${others})` };
}
