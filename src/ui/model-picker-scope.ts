// Which settings scope a model setting's value comes from, and where the picker writes so that the
// value applies in this window. Pure (no vscode import): the shape of WorkspaceConfiguration#inspect.
//
// Why this matters: in a remote window (code-server, Remote-SSH, Codespaces) the model settings are
// machine-overridable, so the local User settings.json does not apply there ("cannot be applied in
// this window"); VS Code writes a User-target update of such a setting to the remote machine's
// settings, where it does apply. A workspace or folder value shadows the user value, so writing under
// it changes nothing: the picker writes where the value in force comes from. In an untrusted
// workspace the restricted model settings are read from the user settings only.

export type SettingSource = 'default' | 'user' | 'workspace' | 'folder';

/** The parts of WorkspaceConfiguration#inspect used here. */
export interface InspectedSetting<T> {
  readonly globalValue?: T;
  readonly workspaceValue?: T;
  readonly workspaceFolderValue?: T;
}

export interface WindowFacts {
  /** Workspace trust: untrusted, workspace and folder values of restricted settings are ignored. */
  readonly trusted: boolean;
}

/** The value in force and the scope it comes from (the most specific scope that sets it). */
export function settingInForce<T>(inspected: InspectedSetting<T> | undefined, fallback: T, facts: WindowFacts): { value: T; source: SettingSource } {
  if (facts.trusted && inspected?.workspaceFolderValue !== undefined) return { value: inspected.workspaceFolderValue, source: 'folder' };
  if (facts.trusted && inspected?.workspaceValue !== undefined) return { value: inspected.workspaceValue, source: 'workspace' };
  if (inspected?.globalValue !== undefined) return { value: inspected.globalValue, source: 'user' };
  return { value: fallback, source: 'default' };
}

/**
 * Where to write so that the new value applies: the scope in force (a write below it would be
 * shadowed), the user settings when only the default applies or the workspace is untrusted.
 */
export function writeScope<T>(inspected: InspectedSetting<T> | undefined, facts: WindowFacts): Exclude<SettingSource, 'default'> {
  const { source } = settingInForce(inspected, undefined, facts);
  return source === 'default' ? 'user' : source;
}

const SOURCE_TEXT: Record<SettingSource, string> = {
  default: 'the default',
  user: 'your user settings (in a remote window: this machine\'s settings)',
  workspace: 'the workspace settings',
  folder: 'the folder settings',
};

export function describeSource(source: SettingSource): string {
  return SOURCE_TEXT[source];
}
