// The UI's access to the preference store: one store per user in the extension's global storage
// folder, opened on first use, with every session tagged by the workspace it happened in.
import { createHash } from 'node:crypto';
import * as vscode from 'vscode';
import { createLogger } from '../store/logger';
import type { Decision, FollowerRound, GenerationInfo, SessionRecord } from '../store/schema';
import { PreferenceStore } from '../store/store';
import type { GeneratedText } from '../refiner/refiner-settings';

/** A stable, non-identifying tag for the open workspace (a hash of its first folder's URI). */
export function workspaceTag(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) return 'no-workspace';
  return createHash('sha256').update(folder.uri.toString()).digest('hex').slice(0, 16);
}

function generationInfo(result: GeneratedText): GenerationInfo {
  return { modelId: result.modelId, adapterVersion: result.adapterVersion, sampling: result.sampling, prompt: result.prompt, tokenIds: result.tokenIds, logprobs: result.logprobs, timings: result.timings };
}

/** What the store keeps of a Follower round (the raw text stays out; the prompt that generated it is kept for training). */
export function followerRound(result: GeneratedText): FollowerRound {
  return { ...generationInfo(result), text: result.text, prompt: result.prompt, logprobs: result.logprobs, timings: result.timings };
}

export interface NewRefinement {
  readonly languageId: string;
  /** The preset the refiner chose (RefineEvent 'done'). */
  readonly preset: string;
  readonly context: string;
  readonly instruction: string;
  readonly draft: string;
  /** Present when the Leader wrote the draft. */
  readonly leaderDraft?: GeneratedText;
  readonly rounds: readonly GeneratedText[];
}

export class HistoryService {
  private opening: Promise<PreferenceStore> | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires after every write, so views can refresh. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly folder: vscode.Uri, private readonly log: vscode.LogOutputChannel) {}

  get location(): string {
    return this.folder.fsPath;
  }

  store(): Promise<PreferenceStore> {
    if (!this.opening) {
      const logger = createLogger({
        level: 'info',
        sink: (level, message) => this.log[level === 'warn' ? 'warn' : level](`store: ${message}`),
      });
      this.opening = (async () => {
        await vscode.workspace.fs.createDirectory(this.folder);
        return PreferenceStore.open(this.folder.fsPath, { logger });
      })();
      this.opening.catch(() => (this.opening = undefined));
    }
    return this.opening;
  }

  async record(refinement: NewRefinement): Promise<SessionRecord> {
    const store = await this.store();
    const session = await store.createSession({
      workspace: workspaceTag(),
      languageId: refinement.languageId,
      preset: refinement.preset,
      context: refinement.context,
      instruction: refinement.instruction,
      draft: refinement.leaderDraft
        ? { text: refinement.draft, source: 'leader', generation: generationInfo(refinement.leaderDraft) }
        : { text: refinement.draft, source: 'user' },
      rounds: refinement.rounds.map(followerRound),
    });
    this.log.info(`recorded session ${session.id} (${session.rounds.length} rounds)`);
    this.changed.fire();
    return session;
  }

  async decide(id: string, decision: Decision): Promise<void> {
    await (await this.store()).decide(id, decision);
    this.log.info(`session ${id}: ${decision.kind}${'round' in decision ? ` round ${decision.round + 1}` : ''}`);
    this.changed.fire();
  }

  async delete(id: string): Promise<boolean> {
    const deleted = await (await this.store()).delete(id);
    this.changed.fire();
    return deleted;
  }

  dispose(): void {
    this.changed.dispose();
  }
}
