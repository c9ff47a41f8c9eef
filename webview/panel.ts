// The SLHF side panel page. Runs inside the webview with no access to Node or the network; it talks
// to the extension only through postMessage (protocol in src/ui/panelProtocol.ts).
import '@vscode/codicons/dist/codicon.css';
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { HostMessage, PanelCommand, PanelMessage, PanelSettings } from '../src/ui/panelProtocol';

interface VsCodeApi {
  postMessage(message: PanelMessage): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();

function element<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function commandButton(label: string, icon: string, command: PanelCommand): HTMLElement {
  const button = element('vscode-button', { icon, 'data-command': command }, label);
  button.addEventListener('click', () => vscode.postMessage({ type: 'runCommand', command }));
  return button;
}

// vscode-tabs assigns its own ids to headers and panels, so tabs are named by data-tab.
function tab(header: string, name: string, ...content: Node[]): [HTMLElement, HTMLElement] {
  const panel = element('vscode-tab-panel', { 'data-tab': name });
  panel.append(...content);
  return [element('vscode-tab-header', { slot: 'header', 'data-tab': name }, header), panel];
}

const modelList = element('dl', { id: 'models' });
const status = element('p', { id: 'status', role: 'status', 'aria-live': 'polite' });

function showSettings(settings: PanelSettings): void {
  const rows: [string, string][] = [
    ['Leader', settings.leaderModel || 'built-in demo model'],
    ['Follower', settings.followerModel || 'same as the Leader'],
    ['Device', settings.device],
  ];
  modelList.replaceChildren(...rows.flatMap(([name, value]) => [element('dt', {}, name), element('dd', {}, value)]));
}

const tabs = element('vscode-tabs', { panel: '' });
tabs.append(
  ...tab('History', 'history',
    element('p', {}, 'No refinements recorded yet. The history of refinements and your decisions is not available in this version.'),
    commandButton('Show History', 'history', 'slhf.showHistory')),
  ...tab('Models', 'models',
    element('p', {}, 'Configured models (from your settings; nothing is loaded yet):'),
    modelList,
    commandButton('Select Models…', 'settings-gear', 'slhf.selectModels')),
  ...tab('Training', 'training',
    element('p', {}, 'Training the Follower on your accept/reject decisions is not available in this version.'),
    commandButton('Train Follower', 'rocket', 'slhf.trainFollower')),
);
document.getElementById('app')?.append(tabs, status);

window.addEventListener('message', (event: MessageEvent<HostMessage>) => {
  const message = event.data;
  if (message.type === 'settings') showSettings(message.settings);
  else if (message.type === 'status') status.textContent = message.text;
});
vscode.postMessage({ type: 'ready' });
