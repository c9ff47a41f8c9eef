// Messages between the SLHF side panel (webview/panel.ts) and the extension. Pure data, no vscode
// import, so the webview bundle can share it. Everything arriving from the webview is untrusted
// and goes through parsePanelMessage before use: exact shapes only, bounded strings.
import type { SettingSource } from './model-picker-scope';

/** Commands the panel's buttons may ask the extension to run. */
export const panelCommands = ['slhf.showHistory', 'slhf.selectModels', 'slhf.trainFollower', 'slhf.exportHistory'] as const;
export type PanelCommand = (typeof panelCommands)[number];

export const panelTabs = ['history', 'models', 'training'] as const;
export type PanelTab = (typeof panelTabs)[number];

/** The tab whose button runs each command: its outcome is shown there. */
export const commandTab: Readonly<Record<PanelCommand, PanelTab>> = {
  'slhf.showHistory': 'history', 'slhf.exportHistory': 'history', 'slhf.selectModels': 'models', 'slhf.trainFollower': 'training',
};

/** The tab a panel request comes from: a failure is shown there. */
export function messageTab(message: PanelMessage): PanelTab {
  switch (message.type) {
    case 'runCommand': return commandTab[message.command];
    case 'explainSession': case 'activateVersion': case 'rollbackVersion': case 'setTrainLeader': return 'training';
    default: return 'history';
  }
}

export const historyFilters = ['all', 'pending', 'accepted', 'accepted-edited', 'rejected', 'undone'] as const;
export type HistoryFilter = (typeof historyFilters)[number];

/** Longest search text the panel may send. */
export const MAX_SEARCH_LENGTH = 200;

/** Webview -> extension. */
export type PanelMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'runCommand'; readonly command: PanelCommand }
  | { readonly type: 'queryHistory'; readonly text: string; readonly filter: HistoryFilter }
  | { readonly type: 'deleteSession'; readonly id: string }
  | { readonly type: 'reopenSession'; readonly id: string }
  /** Asks what a stored decision teaches (answered with 'decisionSamples'). */
  | { readonly type: 'explainSession'; readonly id: string }
  /** Makes a trained Follower version (or 'base', the untrained model) the active one. */
  | { readonly type: 'activateVersion'; readonly version: string }
  | { readonly type: 'rollbackVersion' }
  /** Sets slhf.training.leader (the Training tab's checkbox). */
  | { readonly type: 'setTrainLeader'; readonly value: boolean };

export interface PanelSettings {
  /** The model settings' values in force in this window, and the settings scope each comes from. */
  readonly leaderModel: string;
  readonly leaderSource: SettingSource;
  readonly followerModel: string;
  readonly followerSource: SettingSource;
  readonly device: string;
  /** slhf.training.leader. */
  readonly trainLeader: boolean;
  /** Whether the next run trains the Leader, given the setting and the models. */
  readonly leaderTrains: boolean;
  /** One sentence on what the next run does with the Leader. */
  readonly leaderNote: string;
}

export interface PanelModelStatus {
  readonly state: string;
  readonly leader: string;
  readonly follower: string;
  readonly device: string;
  /** The Follower's adapter version from the last generation; null for the base model. */
  readonly followerVersion: string | null;
  /** The Leader's adapter version from its last draft; null for the base model (or no draft yet). */
  readonly leaderVersion: string | null;
  /** The extension host's resident memory (the worker thread included), in MiB. */
  readonly memoryMiB: number;
  readonly detail: string;
}

/** One stored session as the History tab shows it. */
export interface SessionSummary {
  readonly id: string;
  readonly createdAt: string;
  readonly languageId: string;
  readonly instruction: string;
  readonly draft: string;
  readonly draftSource: 'user' | 'leader';
  readonly rounds: readonly string[];
  readonly decision: 'pending' | 'accepted' | 'accepted-edited' | 'rejected' | 'undone';
  /** The chosen round's index, for accepted decisions (and the round an undo took back). */
  readonly round?: number;
  readonly finalText?: string;
}

/** One game sample of a stored decision: the Training tab's "what this decision teaches". */
export interface DecisionSample {
  readonly role: 'follower' | 'leader';
  /** Which move, e.g. 'r0->r1' (round 1 refining the draft), 'r2->edit', 'x->r0' (the Leader's draft). */
  readonly transition: string;
  /** The end of the prompt as the model saw it. */
  readonly prompt: string;
  readonly completion: string;
  /** 1 - p for the Follower, p for the Leader. */
  readonly score: number;
  /** A model sampled the completion, so its behaviour log-probs are recorded. */
  readonly behaviour: boolean;
  /** The next training run uses it (Leader samples only when the Leader trains). */
  readonly trains: boolean;
}

/** What training gets from the store: the game samples of every decision (src/store/game.ts). */
export interface TrainingCounts {
  readonly sessions: number;
  readonly decided: number;
  readonly followerSamples: number;
  /** Used only when the Leader trains. */
  readonly leaderSamples: number;
  /** Samples a model sampled, whose behaviour log-probs are recorded. */
  readonly samplesWithLogprobs: number;
  /** Decisions made (or changed) since the newest version trained here for this model: Train waits for at least one. */
  readonly newDecided: number;
  /** That version; null when none was trained for this model yet (then every decision is new). */
  readonly since: string | null;
}

/** One trained Follower version as the Models and Training tabs list it. */
export interface VersionSummary {
  readonly version: string;
  readonly createdAt: string;
  /** Decisions (store records) it trained on, and the game samples they made. */
  readonly decisions: number;
  readonly samples: number;
  /** Held-out preference accuracy after training, when it was measured, and how many held-out decisions it was measured on. */
  readonly heldOutAccuracy: number | null;
  readonly heldOutDecisions: number;
  /** Set for an adapter trained elsewhere and imported (slhf adapters import): where from, its base, rank and alpha. */
  readonly imported?: string;
}

/** The versions made for the Follower model in use (newest first) and the active one among them. */
export interface VersionList {
  /** The active version when it was made for this model; null: the base model (or a version for another model). */
  readonly active: string | null;
  readonly versions: readonly VersionSummary[];
  /** Versions made for other base models: kept, not listed, not applied. */
  readonly otherBase: number;
  /** A sentence on what applies to this model, when something is not applied or not listed; else ''. */
  readonly note: string;
}

/** Per-step training metrics for the Training tab's chart. */
export interface TrainingMetrics {
  readonly loss: readonly number[];
  readonly kl: readonly number[];
  readonly score: readonly number[];
}

/** Extension -> webview. */
export type HostMessage =
  | { readonly type: 'settings'; readonly settings: PanelSettings }
  /** The outcome of something asked from one tab, shown in that tab only (a training failure is no news on History). */
  | { readonly type: 'status'; readonly text: string; readonly tab: PanelTab; /** Set when this is the outcome of a command the panel ran. */ readonly command?: PanelCommand }
  | { readonly type: 'models'; readonly status: PanelModelStatus }
  | { readonly type: 'history'; readonly sessions: readonly SessionSummary[]; readonly total: number }
  | { readonly type: 'training'; readonly counts: TrainingCounts }
  | { readonly type: 'trainingMetrics'; readonly metrics: TrainingMetrics }
  | { readonly type: 'decisionSamples'; readonly id: string; readonly samples: readonly DecisionSample[]; readonly note: string }
  | ({ readonly type: 'versions' } & VersionList)
  /** 'failed': the refinement ended without rounds; 'end': its review was decided or closed (the live view hides). */
  | { readonly type: 'stream'; readonly phase: 'begin' | 'round-start' | 'chunk' | 'done' | 'failed' | 'end'; readonly label: string; readonly text: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

function hasKeys(value: Record<string, unknown>, keys: string): boolean {
  return Object.keys(value).sort().join(',') === keys;
}

function isOneOf<T extends string>(value: unknown, allowed: readonly T[]): value is T {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value);
}

/** Store ids are short and plain; anything else is not one of ours. */
function isSessionId(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{1,100}$/.test(value);
}

/** The message if it has exactly one of the allowed shapes, else undefined. */
export function parsePanelMessage(value: unknown): PanelMessage | undefined {
  if (!isRecord(value)) return undefined;
  switch (value.type) {
    case 'ready':
      return hasKeys(value, 'type') ? { type: 'ready' } : undefined;
    case 'runCommand':
      return hasKeys(value, 'command,type') && isOneOf(value.command, panelCommands) ? { type: 'runCommand', command: value.command } : undefined;
    case 'queryHistory':
      return hasKeys(value, 'filter,text,type') && typeof value.text === 'string' && value.text.length <= MAX_SEARCH_LENGTH && isOneOf(value.filter, historyFilters)
        ? { type: 'queryHistory', text: value.text, filter: value.filter }
        : undefined;
    case 'deleteSession':
    case 'reopenSession':
    case 'explainSession':
      return hasKeys(value, 'id,type') && isSessionId(value.id) ? { type: value.type, id: value.id } : undefined;
    case 'activateVersion':
      return hasKeys(value, 'type,version') && typeof value.version === 'string' && /^(base|v\d{1,6})$/.test(value.version)
        ? { type: 'activateVersion', version: value.version }
        : undefined;
    case 'rollbackVersion':
      return hasKeys(value, 'type') ? { type: 'rollbackVersion' } : undefined;
    case 'setTrainLeader':
      return hasKeys(value, 'type,value') && typeof value.value === 'boolean' ? { type: 'setTrainLeader', value: value.value } : undefined;
    default:
      return undefined;
  }
}
