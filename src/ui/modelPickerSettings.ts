// Reading and writing the slhf settings where they apply in this window: the value in force and its
// scope (modelPickerScope.ts decides), for the model picker, the Models tab and the panel's checkbox.
import * as vscode from 'vscode';
import { describeSource, settingInForce, writeScope, type SettingSource } from './modelPickerScope';

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

