// "SLHF: Install CUDA Support": the CUDA provider download (gpu-install-download.ts) behind a
// cancellable progress notification, and its outcome in a message.
import * as vscode from 'vscode';
import { installCudaSupport } from './gpu-install-download';
import type { FlowOutcome } from './refine-flow';

export async function installCudaSupportCommand(): Promise<FlowOutcome> {
  const outcome = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'SLHF: Installing CUDA support', cancellable: true }, (progress, token) => {
    const abort = new AbortController();
    token.onCancellationRequested(() => abort.abort());
    return installCudaSupport({ report: (update) => progress.report(update), signal: abort.signal });
  });
  const show = outcome.kind === 'failed' ? vscode.window.showErrorMessage : vscode.window.showInformationMessage;
  void show(`SLHF: ${outcome.message}`);
  return { ok: outcome.kind === 'installed' || outcome.kind === 'already-installed', message: `SLHF: ${outcome.message}`, cancelled: outcome.kind === 'cancelled' };
}
