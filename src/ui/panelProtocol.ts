// Messages between the SLHF side panel (webview/panel.ts) and the extension. Pure data, no vscode
// import, so the webview bundle can share it. Everything arriving from the webview is untrusted
// and goes through parsePanelMessage before use.

/** Commands the panel's buttons may ask the extension to run. */
export const panelCommands = ['slhf.showHistory', 'slhf.selectModels', 'slhf.trainFollower'] as const;
export type PanelCommand = (typeof panelCommands)[number];

/** Webview -> extension. */
export type PanelMessage = { readonly type: 'ready' } | { readonly type: 'runCommand'; readonly command: PanelCommand };

export interface PanelSettings {
  readonly leaderModel: string;
  readonly followerModel: string;
  readonly device: string;
}

/** Extension -> webview. */
export type HostMessage =
  | { readonly type: 'settings'; readonly settings: PanelSettings }
  | { readonly type: 'status'; readonly text: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The message if it has exactly one of the allowed shapes, else undefined. */
export function parsePanelMessage(value: unknown): PanelMessage | undefined {
  if (!isRecord(value)) return undefined;
  const keys = Object.keys(value).sort().join(',');
  if (value.type === 'ready' && keys === 'type') return { type: 'ready' };
  if (value.type === 'runCommand' && keys === 'command,type' && (panelCommands as readonly unknown[]).includes(value.command)) {
    return { type: 'runCommand', command: value.command as PanelCommand };
  }
  return undefined;
}
