// The SLHF side panel: a webview view with a strict Content-Security-Policy. The page itself is
// webview/panel.ts, bundled to out/webview/panel.js. Every message from it is validated
// (panel-protocol.ts); what the panel asks for is answered by a PanelBackend.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { describeLeaderPlan, type LeaderPlan } from './leader-training';
import { modelSettingInForce, readDevice, readTrainLeader, writeSettingInForce } from './slhf-settings';
import {
  messageTab, parsePanelMessage, type DecisionSample, type HistoryFilter, type HostMessage, type PanelCommand, type PanelModelStatus, type PanelSettings,
  type SessionSummary, type TrainingCounts, type VersionList,
} from './panel-protocol';

export const PANEL_VIEW_ID = 'slhf.panel';

export interface PanelBackend {
  runCommand(command: PanelCommand): Promise<{ readonly message: string }>;
  history(text: string, filter: HistoryFilter): Promise<{ sessions: SessionSummary[]; total: number }>;
  training(): Promise<TrainingCounts>;
  models(): PanelModelStatus;
  deleteSession(id: string): Promise<void>;
  /** Re-opens a stored session; says how (for review, or read-only). */
  reopenSession(id: string): Promise<string>;
  /** The game samples of one stored decision, and a line saying what they mean. */
  explainSession(id: string): Promise<{ samples: DecisionSample[]; note: string }>;
  versions(): Promise<VersionList>;
  switchVersion(target: { version: string } | 'rollback'): Promise<unknown>;
  /** What the next training run does with the Leader. */
  leaderPlan(): LeaderPlan;
}

export class PanelViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private query: { text: string; filter: HistoryFilter } = { text: '', filter: 'all' };
  /** The session whose game samples the Training tab shows; they follow its decision (an undo changes them). */
  private explained: string | undefined;
  private resolved!: () => void;
  /** Settles when VS Code first shows the panel (tests wait on it through the extension's API). */
  readonly whenResolved = new Promise<void>((resolve) => (this.resolved = resolve));
  /** How many invalid messages were ignored (the API reports it to the tests). */
  ignoredMessages = 0;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    private readonly backend: PanelBackend,
  ) {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration('slhf')) this.post({ type: 'settings', settings: this.settings() });
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

  /** Handles one message from the webview; invalid ones are logged and ignored. */
  async receive(raw: unknown): Promise<void> {
    const message = parsePanelMessage(raw);
    if (!message) {
      this.ignoredMessages++;
      let shown: string;
      try {
        shown = String(JSON.stringify(raw)).slice(0, 200);
      } catch {
        shown = Object.prototype.toString.call(raw);
      }
      this.log.warn(`panel: ignored an invalid message: ${shown}`);
      return;
    }
    try {
      switch (message.type) {
        case 'ready':
          this.post({ type: 'settings', settings: this.settings() });
          this.pushModels();
          await Promise.all([this.refreshHistory(), this.refreshTraining(), this.refreshVersions()]);
          break;
        case 'runCommand':
          this.post({ type: 'status', text: (await this.backend.runCommand(message.command)).message, tab: messageTab(message), command: message.command });
          break;
        case 'queryHistory':
          this.query = { text: message.text, filter: message.filter };
          await this.refreshHistory();
          break;
        case 'deleteSession':
          await this.backend.deleteSession(message.id);
          break;
        case 'reopenSession':
          this.post({ type: 'status', text: await this.backend.reopenSession(message.id), tab: 'history' });
          break;
        case 'explainSession':
          this.explained = message.id;
          await this.refreshTeaching();
          break;
        case 'activateVersion':
          await this.backend.switchVersion({ version: message.version });
          break;
        case 'rollbackVersion':
          await this.backend.switchVersion('rollback');
          break;
        case 'setTrainLeader':
          await writeSettingInForce('training.leader', message.value);
          break;
      }
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      this.log.error(`panel: ${message.type} failed: ${text}`);
      this.post({ type: 'status', text: `SLHF: ${text}`, tab: messageTab(message) });
    }
  }

  private settings(): PanelSettings {
    const plan = this.backend.leaderPlan();
    const leader = modelSettingInForce('leader.model');
    const follower = modelSettingInForce('follower.model');
    return {
      leaderModel: leader.value,
      leaderSource: leader.source,
      followerModel: follower.value,
      followerSource: follower.source,
      device: readDevice(),
      trainLeader: readTrainLeader(),
      leaderTrains: plan === 'shared',
      leaderNote: describeLeaderPlan(plan),
    };
  }

  async refreshHistory(): Promise<void> {
    if (!this.view) return;
    const { sessions, total } = await this.backend.history(this.query.text, this.query.filter);
    this.post({ type: 'history', sessions, total });
    await this.refreshTeaching();
  }

  private async refreshTeaching(): Promise<void> {
    const id = this.explained;
    if (!this.view || id === undefined) return;
    try {
      this.post({ type: 'decisionSamples', id, ...(await this.backend.explainSession(id)) });
    } catch {
      this.explained = undefined;
      this.post({ type: 'decisionSamples', id, samples: [], note: 'That refinement is no longer in the history, so it teaches nothing.' });
    }
  }

  async refreshTraining(): Promise<void> {
    if (this.view) this.post({ type: 'training', counts: await this.backend.training() });
  }

  async refreshVersions(): Promise<void> {
    if (this.view) this.post({ type: 'versions', ...(await this.backend.versions()) });
  }

  pushModels(): void {
    this.post({ type: 'models', status: this.backend.models() });
  }

  post(message: HostMessage): void {
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
