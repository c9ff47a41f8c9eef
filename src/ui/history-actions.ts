// What the History tab and the history commands do with the store: list sessions as summaries,
// delete one, re-open one (for review when undecided, else read-only in the diff editor), say what one teaches, export the preference pairs,
// count what training can use.
import { writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { gameSamples } from '../store/game';
import { decidedSince } from '../store/query';
import type { DecisionKind, SessionRecord } from '../store/schema';
import { exportRows } from '../store/transfer';
import { decisionSamples, teachingNote } from './decision-samples';
import type { HistoryService } from './history';
import type { DecisionSample, HistoryFilter, SessionSummary, TrainingCounts } from './panel-protocol';
import type { ReviewInput, ReviewOutcome } from './review';
import { uniqueOccurrence } from './reopen-target';
import { REVIEW_SCHEME, type ReviewDocuments } from './review-documents';

const PAGE = 100;

export function summarize(record: SessionRecord): SessionSummary {
  const d = record.decision;
  return {
    id: record.id, createdAt: record.createdAt, languageId: record.languageId, instruction: record.instruction,
    draft: record.draft.text, draftSource: record.draft.source, rounds: record.rounds.map((r) => r.text), decision: d.kind,
    ...(d.kind === 'accepted' || d.kind === 'accepted-edited' || d.kind === 'undone' ? { round: d.round } : {}),
    ...(d.kind === 'accepted-edited' ? { finalText: d.finalText } : {}),
  };
}

/** The one place in the open documents (not SLHF's own views) that holds `text`; undefined when none or several do. */
function findOnce(text: string): { document: vscode.TextDocument; range: vscode.Range } | undefined {
  const documents = vscode.workspace.textDocuments.filter((d) => !d.isClosed && d.uri.scheme !== REVIEW_SCHEME && d.uri.scheme !== 'output');
  const found = uniqueOccurrence(documents.map((d) => d.getText()), text);
  if (!found) return undefined;
  const document = documents[found.index];
  return { document, range: new vscode.Range(document.positionAt(found.at), document.positionAt(found.at + text.length)) };
}

/**
 * Where the export dialog starts: the first workspace folder (its own URI, so remote windows get a
 * remote path), else the home folder. A bare file name resolved to the file system's root.
 */
export function defaultExportUri(workspaceFolder: vscode.Uri | undefined, home = homedir()): vscode.Uri {
  return workspaceFolder ? vscode.Uri.joinPath(workspaceFolder, EXPORT_FILE_NAME) : vscode.Uri.file(join(home, EXPORT_FILE_NAME));
}

const EXPORT_FILE_NAME = 'slhf-pairs.jsonl';

export class HistoryActions {
  private reopened = 0;

  constructor(
    private readonly history: HistoryService,
    private readonly documents: ReviewDocuments,
    private readonly log: vscode.LogOutputChannel,
    /** Opens the review (ReviewController.open): Accept and Reject then decide the session. */
    private readonly openReview: (input: ReviewInput) => Promise<void>,
  ) {}

  async list(text: string, filter: HistoryFilter): Promise<{ sessions: SessionSummary[]; total: number }> {
    const store = await this.history.store();
    const page = await store.list({ text: text || undefined, decision: filter === 'all' ? undefined : (filter as DecisionKind), limit: PAGE });
    return { sessions: page.items.map(summarize), total: page.total };
  }

  /**
   * What training gets from the store: every decision's game samples, counted by role, and how many
   * decisions are newer than `since`, the newest version trained for this model.
   */
  async training(since: { version: string; createdAt: string } | null): Promise<TrainingCounts> {
    const store = await this.history.store();
    const stats = await store.stats();
    const records = await store.records();
    const samples = records.flatMap(gameSamples);
    return {
      sessions: stats.sessions, decided: stats.acceptance.decided, newDecided: decidedSince(records, since?.createdAt ?? null), since: since?.version ?? null,
      followerSamples: samples.filter((s) => s.role === 'follower').length,
      leaderSamples: samples.filter((s) => s.role === 'leader').length,
      samplesWithLogprobs: samples.filter((s) => s.completion.logprobs !== null).length,
    };
  }

  /** What a stored decision teaches: its game samples (`leaderTrains`: whether the next run trains the Leader). */
  async teaches(id: string, leaderTrains: boolean): Promise<{ samples: DecisionSample[]; note: string }> {
    const record = await (await this.history.store()).get(id);
    if (!record || record.kind !== 'session') throw new Error('That refinement is no longer in the history.');
    const samples = decisionSamples(gameSamples(record), leaderTrains);
    return { samples, note: teachingNote(record.decision.kind, samples) };
  }

  async delete(id: string): Promise<void> {
    const answer = await vscode.window.showWarningMessage('SLHF: Delete this refinement from the history? Its text is removed from disk.', { modal: true }, 'Delete');
    if (answer !== 'Delete') return;
    await this.history.delete(id);
  }

  /**
   * Shows a stored session: an undecided one (a retried refinement, or one whose review was closed)
   * opens for review, so that Accept or Reject decides it; a decided one opens read-only in the
   * diff editor, its draft against the chosen (or last) round. Returns what happened.
   */
  async reopen(id: string): Promise<string> {
    const record = await (await this.history.store()).get(id);
    if (!record || record.kind !== 'session') throw new Error('That refinement is no longer in the history.');
    if (record.decision.kind === 'pending') return this.reviewUndecided(record);
    const d = record.decision;
    const round = d.kind === 'accepted' || d.kind === 'accepted-edited' || d.kind === 'undone' ? d.round : record.rounds.length - 1;
    const right = d.kind === 'accepted-edited' ? d.finalText : record.rounds[round]?.text ?? '';
    const key = `history-${++this.reopened}`;
    const left = this.documents.put(key, 'draft', record.draft.text, '.txt');
    const rightUri = this.documents.put(key, d.kind === 'accepted-edited' ? 'final' : `round-${round + 1}`, right, '.txt');
    const label = d.kind === 'accepted-edited' ? 'your final text' : `Round ${round + 1}`;
    await vscode.commands.executeCommand('vscode.diff', left, rightUri, `SLHF history: Draft ↔ ${label} (${d.kind})`, { preview: true });
    return `SLHF: Re-opened (read-only: it was decided, ${d.kind}).`;
  }

  /**
   * The review of an undecided session, recorded under the prompts that produced its rounds (the
   * store holds them). Accept applies where the refined text is now, when it is in exactly one open
   * document; otherwise (edited since, closed, found twice, or a Leader draft that never was in a
   * document) into a new untitled document holding the draft. Not refused: the decision is still
   * worth training on and the text worth having, and a refusal would leave the session undecidable
   * again, which is what this fixes.
   */
  private async reviewUndecided(record: SessionRecord): Promise<string> {
    const draft = record.draft.text;
    const found = record.draft.source === 'user' ? findOnce(draft) : undefined;
    const document = found?.document ?? (await vscode.workspace.openTextDocument({ language: record.languageId, content: draft }));
    const range = found?.range ?? new vscode.Range(document.positionAt(0), document.positionAt(document.getText().length));
    await vscode.window.showTextDocument(document, { preview: false, selection: range });
    await this.openReview({
      sessionId: record.id, document, range, version: document.version, original: draft, baseline: draft,
      baselineLabel: record.draft.source === 'leader' ? 'Leader draft' : 'Original', rounds: record.rounds.map((r) => r.text),
      // Re-run refines the text as it is now, like Refine Selection (a new session).
      rerun: async (doc, span) => {
        await vscode.window.showTextDocument(doc, { preview: false, selection: span });
        return (await vscode.commands.executeCommand<ReviewOutcome | undefined>('slhf.refineSelection')) ?? { ok: false, message: 'SLHF: The refinement did not run.' };
      },
    });
    this.log.info(`re-opened undecided session ${record.id} for review (${found ? 'in place' : 'in a new untitled document'})`);
    return found
      ? 'SLHF: Re-opened for review where the text is now: Accept or Reject records your decision.'
      : `SLHF: Re-opened for review in a new untitled document: the text it refined ${record.draft.source === 'leader' ? 'was a Leader draft, never in a document' : 'is not in exactly one open document any more'}, so Accept applies there. Accept or Reject records your decision.`;
  }

  /** Save dialog, then every usable pair as TRL paired JSONL. */
  async exportPairs(target?: vscode.Uri): Promise<{ ok: boolean; message: string }> {
    const uri = target ?? (await vscode.window.showSaveDialog({
      title: 'SLHF: Export preference pairs (TRL paired JSONL)', saveLabel: 'Export',
      filters: { 'JSON Lines': ['jsonl'] }, defaultUri: defaultExportUri(vscode.workspace.workspaceFolders?.[0]?.uri),
    }));
    if (!uri) return { ok: false, message: 'SLHF: Export cancelled.' };
    const rows = exportRows(await (await this.history.store()).records(), 'trl-paired');
    await writeFile(uri.fsPath, rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
    this.log.info(`exported ${rows.length} pairs to ${uri.fsPath}`);
    const message = `SLHF: Exported ${rows.length} preference pair(s) to ${uri.fsPath}.`;
    void vscode.window.showInformationMessage(message);
    return { ok: true, message };
  }
}
