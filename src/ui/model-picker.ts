// "SLHF: Select Models": a quick pick of the built-in model, a recommended hub model (downloaded with
// progress and Cancel), a local model folder or any hub id. It writes slhf.follower.model where the
// value applies in this window (model-picker-scope.ts) and checks that it does. The settings UI it
// replaces showed "No Settings Found" in code-server, and a User value did not apply in remote windows.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { downloadModel, parseRepoId, type HubOptions } from '../models/hub';
import { DEFAULT_MODEL_LABEL, DEFAULT_MODEL_PATH } from '../models/default-model';
import { downloadRecommended, RECOMMENDED_MODELS } from './model-picker-download';
import { describeSource } from './model-picker-scope';
import { modelSettingInForce, writeSettingInForce } from './slhf-settings';
import type { FlowOutcome } from './refine-flow';

interface Choice extends vscode.QuickPickItem {
  readonly pick: { kind: 'built-in' } | { kind: 'hub'; id: string } | { kind: 'folder' } | { kind: 'hub-id' };
}

function isDownloaded(id: string, hub: HubOptions): Promise<boolean> {
  return downloadModel(id, { ...hub, offline: true }).then(() => true, () => false);
}

export class ModelPicker {
  private downloading: string | undefined;

  constructor(
    private readonly log: vscode.LogOutputChannel,
    /** Shows a line in the panel's Models tab (download progress and outcome). */
    private readonly report: (text: string) => void,
    private readonly extensionUri: vscode.Uri,
    private readonly hub: HubOptions = {},
  ) {}

  async pick(): Promise<FlowOutcome> {
    if (this.downloading) return this.tell(`SLHF: ${this.downloading} is still downloading; cancel it in its notification first.`);
    const now = modelSettingInForce('follower.model');
    const current = now.value || modelSettingInForce('leader.model').value;
    const choices: Choice[] = [];
    if (existsSync(join(this.extensionUri.fsPath, DEFAULT_MODEL_PATH, 'config.json'))) {
      choices.push({
        label: `$(package) The ${DEFAULT_MODEL_LABEL}`, description: current ? '' : '(in use)',
        detail: 'No download. Fixes typos, doubled words, casing and full stops in short English sentences; a demo.', pick: { kind: 'built-in' },
      });
    }
    choices.push({ label: 'Download a recommended model', kind: vscode.QuickPickItemKind.Separator, pick: { kind: 'hub-id' } });
    for (const model of RECOMMENDED_MODELS) {
      const downloaded = await isDownloaded(model.id, this.hub);
      choices.push({
        label: `$(cloud-download) ${model.id}`, description: `${current === model.id ? '(in use) ' : ''}${downloaded ? 'downloaded' : model.size}`,
        detail: `Hugging Face hub, ${model.note}. Downloaded once, then runs on this machine.`, pick: { kind: 'hub', id: model.id },
      });
    }
    choices.push(
      { label: 'Other', kind: vscode.QuickPickItemKind.Separator, pick: { kind: 'hub-id' } },
      { label: '$(folder-opened) A local model folder…', detail: 'A Hugging Face checkpoint folder (config.json and safetensors) or a transformers.js ONNX folder.', pick: { kind: 'folder' } },
      { label: '$(edit) Another Hugging Face model id…', detail: 'A Llama, Qwen2 or Mistral checkpoint with safetensors weights, e.g. org/name.', pick: { kind: 'hub-id' } },
    );
    const picked = await vscode.window.showQuickPick(choices, {
      title: 'SLHF: Select the Follower model',
      placeHolder: `Now: ${current || DEFAULT_MODEL_LABEL}${now.source === 'default' ? '' : ` (from ${describeSource(now.source)})`}`,
      matchOnDetail: true,
    });
    if (!picked) return { ok: false, cancelled: true, message: 'SLHF: No model selected; nothing changed.' };
    switch (picked.pick.kind) {
      case 'built-in': return this.useBuiltIn();
      case 'hub': return this.download(picked.pick.id);
      case 'folder': return this.chooseFolder();
      case 'hub-id': {
        const id = await vscode.window.showInputBox({
          title: 'SLHF: Hugging Face model id', prompt: 'org/name, optionally @revision', placeHolder: 'Qwen/Qwen2.5-0.5B-Instruct', ignoreFocusOut: true,
          validateInput: (text) => {
            try {
              parseRepoId(text.trim());
              return undefined;
            } catch (error) {
              return (error as Error).message;
            }
          },
        });
        return id ? this.download(id.trim()) : { ok: false, cancelled: true, message: 'SLHF: No model selected; nothing changed.' };
      }
    }
  }

  private tell(message: string, level: 'info' | 'error' = 'info'): FlowOutcome {
    this.report(message);
    void (level === 'error' ? vscode.window.showErrorMessage(message) : vscode.window.showInformationMessage(message));
    return { ok: level === 'info', message };
  }

  /** Sets the Follower model and says where it was written. */
  private async use(spec: string, label: string): Promise<FlowOutcome> {
    try {
      const where = await writeSettingInForce('follower.model', spec);
      this.log.info(`model picker: slhf.follower.model = ${JSON.stringify(spec)} in ${where} settings`);
      return this.tell(`SLHF: The Follower model is now ${label} (written to ${describeSource(where)}).`);
    } catch (error) {
      return this.tell(`SLHF: Could not set the Follower model: ${(error as Error).message}`, 'error');
    }
  }

  private async useBuiltIn(): Promise<FlowOutcome> {
    // The Follower defaults to the Leader: with a Leader set, only clearing it too brings the built-in model.
    const leader = modelSettingInForce('leader.model');
    if (leader.value) {
      try {
        await writeSettingInForce('leader.model', '');
      } catch (error) {
        return this.tell(`SLHF: Could not clear the Leader model: ${(error as Error).message}`, 'error');
      }
    }
    const outcome = await this.use('', `the ${DEFAULT_MODEL_LABEL}`);
    return leader.value && outcome.ok ? { ...outcome, message: `${outcome.message} The Leader setting (${leader.value}) was cleared too, so the built-in model drafts.` } : outcome;
  }

  private async chooseFolder(): Promise<FlowOutcome> {
    const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Use This Model', title: 'SLHF: A model folder' });
    const folder = picked?.[0];
    if (!folder) return { ok: false, cancelled: true, message: 'SLHF: No folder chosen; nothing changed.' };
    if (!existsSync(join(folder.fsPath, 'config.json'))) {
      return this.tell(`SLHF: ${folder.fsPath} is not a model folder (it has no config.json); nothing changed.`, 'error');
    }
    return this.use(folder.fsPath, folder.fsPath);
  }

  /** Downloads `id` (progress and Cancel in a notification, and in the Models tab), then selects it. */
  private async download(id: string): Promise<FlowOutcome> {
    if (this.downloading) return this.tell(`SLHF: ${this.downloading} is still downloading; cancel it in its notification first.`);
    this.downloading = id;
    try {
      this.report(`Downloading ${id}…`);
      const outcome = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `SLHF: Downloading ${id}`, cancellable: true }, (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        return downloadRecommended(id, {
          signal: abort.signal,
          report: (update) => {
            progress.report(update);
            if (update.message) this.report(`Downloading ${id}: ${update.message}`);
          },
        }, this.hub);
      });
      this.log.info(`model picker: ${outcome.message}`);
      if (outcome.kind !== 'downloaded') {
        const message = `SLHF: ${outcome.message}`;
        return outcome.kind === 'cancelled' ? { ...this.tell(message), ok: false, cancelled: true } : this.tell(message, 'error');
      }
      return await this.use(id, id);
    } finally {
      this.downloading = undefined;
    }
  }
}
