// The status bar item: model state, device and Follower version; clicking it opens the SLHF panel.
import * as vscode from 'vscode';
import type { ModelStatus } from './refiner-service';

const ICONS: Record<ModelStatus['state'], string> = {
  'not-configured': '$(warning)', idle: '$(circle-outline)', working: '$(loading~spin)', loaded: '$(pass-filled)', error: '$(error)',
};

export function createStatusBar(): { item: vscode.StatusBarItem; update(status: ModelStatus): void } {
  const item = vscode.window.createStatusBarItem('slhf.status', vscode.StatusBarAlignment.Right, 100);
  item.name = 'SLHF Refine';
  item.command = 'slhf.panel.focus';
  const update = (status: ModelStatus) => {
    const version = status.followerVersion ?? 'base';
    item.text = `${ICONS[status.state]} SLHF`;
    item.tooltip = new vscode.MarkdownString([
      `**SLHF Refine**: ${status.detail}`, '',
      `- Follower: ${status.follower || '(not set)'} (version: ${version})`,
      `- Leader: ${status.leader || '(not set)'}`,
      `- Device: ${status.device}`,
    ].join('\n'));
    item.accessibilityInformation = { label: `SLHF Refine: ${status.state}, device ${status.device}, Follower version ${version}` };
    item.backgroundColor = status.state === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  };
  item.show();
  return { item, update };
}
