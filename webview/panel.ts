// The SLHF side panel page. Runs inside the webview with no access to Node or the network; it talks
// to the extension only through postMessage (protocol in src/ui/panel-protocol.ts).
import '@vscode/codicons/dist/codicon.css';
import './panel.css';
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import type { HostMessage, PanelMessage, PanelModelStatus, PanelSettings, PanelTab } from '../src/ui/panel-protocol';
import { custom, element } from './dom';
import { createHistoryTab } from './history';
import { createTrainingTab } from './training';
import { createVersionViews } from './versions';
import { settingsText } from './settings-text';

interface VsCodeApi {
  postMessage(message: PanelMessage): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const send = (message: PanelMessage) => vscode.postMessage(message);

// vscode-tabs assigns its own ids to headers and panels, so tabs are named by data-tab.
function tab(header: string, name: string, content: Node[]): [HTMLElement, HTMLElement] {
  const panel = custom('vscode-tab-panel', { 'data-tab': name });
  panel.append(...content);
  return [custom('vscode-tab-header', { slot: 'header', 'data-tab': name }, header), panel];
}

// The live view: the text of the refinement that is running, as it streams in.
const live = element('section', { id: 'live', 'aria-label': 'Refinement in progress', hidden: '' });
const liveLabel = element('div', { id: 'live-label', role: 'status', 'aria-live': 'polite' });
const liveText = element('pre', { id: 'live-text' });
live.append(liveLabel, liveText);

const modelList = element('dl', { id: 'models' });
function showModels(status: PanelModelStatus): void {
  const rows: [string, string][] = [
    ['State', status.detail],
    ['Follower', status.follower || 'not set (slhf.follower.model)'],
    ['Follower version', status.followerVersion ?? 'base model (no trained adapter yet)'],
    ['Leader', status.leader || 'not set (slhf.leader.model)'],
    ['Leader version', status.leaderVersion ?? 'base model (as of its last draft)'],
    ['Device', status.device],
    ['Memory', `${status.memoryMiB} MiB (extension host and refiner process, models included)`],
  ];
  modelList.setAttribute('data-state', status.state);
  modelList.replaceChildren(...rows.flatMap(([name, value]) => [element('dt', {}, name), element('dd', {}, value)]));
}
const settingsLine = element('p', { id: 'model-settings' });
function showSettings(settings: PanelSettings): void {
  settingsLine.textContent = settingsText(settings);
}
const selectModels = custom('vscode-button', { icon: 'settings-gear', 'data-command': 'slhf.selectModels' }, 'Select Models…');
selectModels.addEventListener('click', () => send({ type: 'runCommand', command: 'slhf.selectModels' }));

const versions = createVersionViews(send);
const training = createTrainingTab(send);
const tabs = custom('vscode-tabs', { panel: '' });
const TRAINING_TAB = 2;
const history = createHistoryTab(send, (id) => {
  send({ type: 'explainSession', id });
  (tabs as HTMLElement & { selectedIndex: number }).selectedIndex = TRAINING_TAB;
});
// Each tab has its own status line: an outcome belongs where it was asked for.
const statusLine = (name: PanelTab) => element('p', { id: `${name}-status`, class: 'status', role: 'status', 'aria-live': 'polite' });
const statuses: Record<PanelTab, HTMLElement> = { history: statusLine('history'), models: statusLine('models'), training: statusLine('training') };

tabs.append(
  ...tab('History', 'history', [...history.content, statuses.history]),
  ...tab('Models', 'models', [modelList, element('label', { for: 'version-switcher' }, 'Active Follower version'), versions.switcher, settingsLine, selectModels, statuses.models]),
  ...tab('Training', 'training', [...training.content, statuses.training, versions.list]),
);
document.getElementById('app')?.append(live, tabs);
// A new run's outcome replaces the last one's ("activated v0001" stayed up during the next run).
document.querySelector('[data-command="slhf.trainFollower"]')?.addEventListener('click', (event) => {
  if ((event.currentTarget as HTMLElement).hasAttribute('disabled')) return;
  statuses.training.textContent = 'Training…';
  training.trainingStarted();
});

window.addEventListener('message', (event: MessageEvent<HostMessage>) => {
  const message = event.data;
  switch (message.type) {
    case 'settings':
      showSettings(message.settings);
      training.showSettings(message.settings);
      break;
    case 'status':
      statuses[message.tab].textContent = message.text;
      // Train's outcome: a run that failed or was cancelled before its first step leaves nothing to wait for.
      if (message.command === 'slhf.trainFollower') training.trainingEnded();
      break;
    case 'models':
      showModels(message.status);
      break;
    case 'history':
      history.show(message.sessions, message.total);
      break;
    case 'training':
      training.showCounts(message.counts);
      break;
    case 'versions':
      versions.show(message);
      training.showVersionCount(message.versions.length);
      break;
    case 'trainingMetrics':
      training.showMetrics(message.metrics);
      break;
    case 'decisionSamples':
      training.showTeaching(message.samples, message.note);
      break;
    case 'stream':
      // Decided or closed: the refinement is over, nothing of it stays up.
      if (message.phase === 'end') {
        live.hidden = true;
        break;
      }
      live.hidden = false;
      if (message.phase === 'begin') liveText.textContent = '';
      // A failure before any text: no empty "Round 1" under it.
      if (message.phase === 'failed') liveText.hidden = !liveText.textContent;
      else liveText.hidden = false;
      if (message.phase === 'round-start' && liveText.textContent) liveText.textContent += '\n\n';
      if (message.label) liveLabel.textContent = message.label;
      if (message.text) liveText.textContent += message.text;
      break;
  }
});
send({ type: 'ready' });
