// The SLHF side panel: a webview view with a strict Content-Security-Policy. The page itself is
// webview/panel.ts, bundled to out/webview/panel.js.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { parsePanelMessage, type HostMessage, type PanelCommand, type PanelSettings } from './panelProtocol';
import type { CommandOutcome } from './commands';

export const PANEL_VIEW_ID = 'slhf.panel';

function readPanelSettings(): PanelSettings {
  const config = vscode.workspace.getConfiguration('slhf');
  return {
    leaderModel: config.get<string>('leader.model', ''),
    followerModel: config.get<string>('follower.model', ''),
    device: config.get<string>('device', 'auto'),
  };
}

export class PanelViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private resolved!: () => void;
  /** Settles when VS Code first shows the panel (tests wait on it through the extension's API). */
  readonly whenResolved = new Promise<void>((resolve) => (this.resolved = resolve));

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    private readonly runCommand: (command: PanelCommand) => CommandOutcome,
  ) {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration('slhf')) this.post({ type: 'settings', settings: readPanelSettings() });
      }),
    );
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    const webviewRoot = vscode.Uri.joinPath(this.extensionUri, 'out', 'webview');
    view.webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'media'), webviewRoot],
    };
    view.webview.html = this.html(view.webview, webviewRoot);
    this.disposables.push(
      view.webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)),
      view.onDidDispose(() => (this.view = undefined)),
    );
    this.log.debug('panel resolved');
    this.resolved();
  }

  private receive(raw: unknown): void {
    const message = parsePanelMessage(raw);
    if (!message) {
      this.log.warn(`panel: ignored an invalid message: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    if (message.type === 'ready') {
      this.post({ type: 'settings', settings: readPanelSettings() });
      return;
    }
    const outcome = this.runCommand(message.command);
    this.post({ type: 'status', text: outcome.message });
  }

  private post(message: HostMessage): void {
    void this.view?.webview.postMessage(message);
  }

  private html(webview: vscode.Webview, webviewRoot: vscode.Uri): string {
    const nonce = randomBytes(16).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(webviewRoot, 'panel.js'));
    const styles = webview.asWebviewUri(vscode.Uri.joinPath(webviewRoot, 'panel.css'));
    const csp = [
      "default-src 'none'",
      `img-src ${webview.cspSource} data:`,
      `font-src ${webview.cspSource}`,
      `style-src ${webview.cspSource} 'nonce-${nonce}'`,
      `script-src 'nonce-${nonce}'`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${csp}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link rel="stylesheet" href="${styles}" id="vscode-codicon-stylesheet" nonce="${nonce}">
  <title>SLHF</title>
</head>
<body>
  <div id="app"></div>
  <script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}
