// The one home in the editor for the `slhf.*` settings: every read goes through here (the models,
// the device, the refinement request, training and review options), and so does every write, to
// the scope where the value applies in this window (model-picker-scope.ts decides).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { DeviceSetting } from '../refiner/device';
import { DEFAULT_MODEL_PATH } from '../models/default-model';
import { readGenerationRequest, type GenerationRequest } from './generation-settings';
import { describeSource, settingInForce, writeScope, type SettingSource } from './model-picker-scope';

function slhfConfig(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('slhf');
}

export interface ModelSettings {
  readonly leader: string;
  readonly follower: string;
  /** No model is configured and the Follower is the embedded tiny demo model. */
  readonly builtIn: boolean;
  readonly device: DeviceSetting;
  readonly cacheDir: string;
}

/** `slhf.device`. */
export function readDevice(): DeviceSetting {
  return slhfConfig().get<DeviceSetting>('device', 'auto');
}

export function readModelSettings(globalStorage: vscode.Uri, extensionUri: vscode.Uri): ModelSettings {
  const slhf = slhfConfig();
  const leader = slhf.get<string>('leader.model', '').trim();
  const follower = slhf.get<string>('follower.model', '').trim() || leader;
  const cacheDir = slhf.get<string>('modelCacheDir', '').trim() || join(globalStorage.fsPath, 'models');
  const device = readDevice();
  // Either setting alone is enough: the Follower defaults to the Leader, and without a Leader the
  // Follower's base checkpoint drafts (the refiner's default). With neither, the embedded model.
  if (follower) return { leader, follower, builtIn: false, device, cacheDir };
  const builtIn = join(extensionUri.fsPath, DEFAULT_MODEL_PATH);
  return { leader, follower: existsSync(join(builtIn, 'config.json')) ? builtIn : '', builtIn: true, device, cacheDir };
}

/** The refinement settings (rounds, tokens, temperature, instruction, Harper's first pass), bounded, with notes on values out of range. */
export function readRefineSettings(): GenerationRequest {
  return readGenerationRequest(slhfConfig(), vscode.workspace.isTrusted);
}

/** `slhf.training.leader`: train the Leader with the Follower (shared adapter) where they share a base model. */
export function readTrainLeader(): boolean {
  return slhfConfig().get<boolean>('training.leader', true);
}

/** Whether Accept asks before applying a flagged proposal (`slhf.review.confirmFlagged`). */
export function readConfirmFlagged(): boolean {
  return slhfConfig().get<boolean>('review.confirmFlagged', true);
}

/** Whether a review also opens the side-by-side diff beside the document (`slhf.review.sideBySide`). */
export function readSideBySide(): boolean {
  return slhfConfig().get<boolean>('review.sideBySide', true);
}

export type ModelSection = 'follower.model' | 'leader.model';

/** The folder whose settings apply to this window's model settings (the first one; none without a workspace). */
function scopeUri(): vscode.Uri | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri;
}

/** The value of a model setting in force in this window, and where it comes from. */
export function modelSettingInForce(section: ModelSection): { value: string; source: SettingSource } {
  const config = vscode.workspace.getConfiguration('slhf', scopeUri());
  const found = settingInForce(config.inspect<string>(section), '', facts(section));
  return { value: found.value.trim(), source: found.source };
}

/** package.json's restrictedConfigurations: in an untrusted workspace only user values of these apply. */
const RESTRICTED = new Set(['leader.model', 'follower.model', 'modelCacheDir', 'followerInstruction']);

function facts(section: string): { trusted: boolean } {
  return { trusted: vscode.workspace.isTrusted || !RESTRICTED.has(section) };
}

const TARGETS: Record<Exclude<SettingSource, 'default'>, vscode.ConfigurationTarget> = {
  user: vscode.ConfigurationTarget.Global,
  workspace: vscode.ConfigurationTarget.Workspace,
  folder: vscode.ConfigurationTarget.WorkspaceFolder,
};

/**
 * Writes a setting of the `slhf` section where it applies: the scope its value in force comes from,
 * else the user settings; if the value read back is still not the new one (a User value that cannot
 * apply in this window), the workspace settings. Returns where it went, or throws saying why not.
 */
export async function writeSettingInForce(section: string, value: unknown): Promise<SettingSource> {
  const config = vscode.workspace.getConfiguration('slhf', scopeUri());
  const target = writeScope(config.inspect(section), facts(section));
  // An empty model setting in the user settings is the same as none: remove it rather than write "".
  await config.update(section, target === 'user' && value === '' ? undefined : value, TARGETS[target]);
  const applies = () => JSON.stringify(vscode.workspace.getConfiguration('slhf', scopeUri()).get(section) ?? '') === JSON.stringify(value);
  if (applies()) return target;
  if (target === 'user' && facts(section).trusted && scopeUri()) {
    await config.update(section, value, vscode.ConfigurationTarget.Workspace);
    if (applies()) return 'workspace';
  }
  throw new Error(`the new value of slhf.${section}, written to ${describeSource(target)}, does not apply in this window (the value in force comes from ${describeSource(settingInForce(vscode.workspace.getConfiguration('slhf', scopeUri()).inspect(section), undefined, facts(section)).source)}).`);
}

