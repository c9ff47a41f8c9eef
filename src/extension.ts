// The extension's entry point. Activation stays light: it registers commands and the panel and
// loads no model and no ONNX Runtime (features load those lazily when first used).
import * as vscode from 'vscode';
import { registerSlhfCommands, runSlhfCommand } from './ui/commands';
import { PANEL_VIEW_ID, PanelViewProvider } from './ui/panelView';

/** What `activate` returns; other extensions and the in-host tests see it as `extension.exports`. */
export interface SlhfExtensionApi {
  /** Settles when the SLHF panel's webview has been resolved. */
  whenPanelResolved(): Promise<void>;
}

export function activate(context: vscode.ExtensionContext): SlhfExtensionApi {
  const log = vscode.window.createOutputChannel('SLHF', { log: true });
  const panel = new PanelViewProvider(context.extensionUri, log, (command) => runSlhfCommand(command, log));
  context.subscriptions.push(
    log,
    panel,
    ...registerSlhfCommands(log),
    vscode.window.registerWebviewViewProvider(PANEL_VIEW_ID, panel),
  );
  log.info(`SLHF Refine ${String(context.extension.packageJSON.version)} activated`);
  return { whenPanelResolved: () => panel.whenResolved };
}

export function deactivate(): void {}
