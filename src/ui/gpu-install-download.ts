// "SLHF: Install CUDA Support": the CUDA provider download, its progress bar and its outcome. Written
// against plain callbacks (the shape of vscode.Progress and a CancellationToken turned into an
// AbortSignal) so that it runs, and is tested, without VS Code; gpu-install.ts wires it up.
import { CudaInstallError, installCudaProvider, type CudaInstallErrorCode, type CudaInstallOptions, type CudaInstallResult, type InstallProgress } from '../onnx/cuda-provider';

export interface InstallUi {
  /** vscode.Progress#report: each `increment` adds to a bar that is full at 100. */
  report(update: { message?: string; increment?: number }): void;
  /** Aborted when the user cancels. */
  signal: AbortSignal;
}

export type InstallOutcome =
  | { kind: 'installed' | 'already-installed'; message: string; result: CudaInstallResult }
  | { kind: 'cancelled'; message: string }
  | { kind: 'failed'; code: CudaInstallErrorCode | 'unexpected'; message: string };

/** Share of the bar the download takes; checking and unpacking take the rest. */
const DOWNLOAD_SHARE = 90;

function progressReporter(ui: InstallUi): (p: InstallProgress) => void {
  let shown = 0;
  let lastMessage = '';
  const advanceTo = (percent: number, message: string) => {
    const increment = Math.max(0, Math.min(100, percent) - shown);
    // vscode.Progress re-renders on every report: only changes are worth sending.
    if (increment < 0.5 && message === lastMessage) return;
    shown += increment;
    lastMessage = message;
    ui.report({ message, increment });
  };
  return (p) => {
    if (p.phase === 'start') {
      advanceTo(0, `Downloading ONNX Runtime ${p.version} CUDA libraries`);
    } else if (p.phase === 'download') {
      const mb = (n: number) => (n / 2 ** 20).toFixed(0);
      const message = p.total ? `Downloading ${mb(p.received)} of ${mb(p.total)} MB` : `Downloading ${mb(p.received)} MB`;
      advanceTo(p.total ? (DOWNLOAD_SHARE * p.received) / p.total : shown, message);
    } else if (p.phase === 'verify') {
      advanceTo(DOWNLOAD_SHARE, 'Checking the package');
    } else {
      advanceTo(shown + (100 - DOWNLOAD_SHARE) / 2, `Unpacking ${p.file}`);
    }
  };
}

/** Runs the install and says, in one message, what happened and what comes next. */
export async function installCudaSupport(ui: InstallUi, options: Omit<CudaInstallOptions, 'signal' | 'onProgress'> = {}, install = installCudaProvider): Promise<InstallOutcome> {
  try {
    const result = await install({ ...options, signal: ui.signal, onProgress: progressReporter(ui) });
    const next = 'With slhf.device "auto" or "cuda" the models load on the GPU from their next load on (reload the window to switch now). ' +
      'CUDA also needs an NVIDIA driver and the CUDA 12 and cuDNN 9 libraries; `slhf gpu status` in a terminal checks them.';
    return result.status === 'already-installed'
      ? { kind: 'already-installed', result, message: `CUDA support is already installed for ONNX Runtime ${result.version}. ${next}` }
      : { kind: 'installed', result, message: `CUDA support installed for ONNX Runtime ${result.version}. ${next}` };
  } catch (err) {
    if (!(err instanceof CudaInstallError)) return { kind: 'failed', code: 'unexpected', message: `Could not install CUDA support: ${(err as Error).message ?? String(err)}` };
    if (err.code === 'cancelled') return { kind: 'cancelled', message: 'CUDA support install cancelled; running it again picks up where it stopped.' };
    return { kind: 'failed', code: err.code, message: `Could not install CUDA support: ${err.message}` };
  }
}
