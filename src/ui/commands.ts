// The one home of the SLHF command table: every command the manifest contributes and what it does.
// Each handler returns a CommandOutcome from executeCommand, so the panel and the tests can see it.
import * as vscode from 'vscode';
import type { FlowOutcome } from './refine-flow';
import type { HunkChoice } from './hunks';
import { CONFLICT_CHOICES, type ConflictChoice, type FlaggedChoice } from './review';

export type SlhfCommandId =
  | 'slhf.refineSelection'
  | 'slhf.trySample'
  | 'slhf.draftAndRefine'
  | 'slhf.acceptRefinement'
  | 'slhf.rejectRefinement'
  | 'slhf.previousRound'
  | 'slhf.nextRound'
  | 'slhf.retryRefinement'
  | 'slhf.acceptChange'
  | 'slhf.rejectChange'
  | 'slhf.showReviewDiff'
  | 'slhf.cancelRefinement'
  | 'slhf.showHistory'
  | 'slhf.exportHistory'
  | 'slhf.trainFollower'
  | 'slhf.selectModels'
  | 'slhf.installCudaSupport';

/** What running a command did. */
export interface CommandOutcome extends FlowOutcome {
  readonly command: SlhfCommandId;
}

/** What the commands act on; extension.ts wires the real features in. */
export interface CommandFeatures {
  refineSelection(): Promise<FlowOutcome>;
  /** Opens a sample sentence in a new document and refines it (the walkthrough's first step). */
  trySample(): Promise<FlowOutcome>;
  draftAndRefine(instruction?: string): Promise<FlowOutcome>;
  accept(conflict?: ConflictChoice, flagged?: FlaggedChoice): Promise<FlowOutcome>;
  /** Accepts or rejects one change of the shown round (`hunk`, else the one at the cursor, else the first undecided). */
  decideChange(choice: HunkChoice, hunk?: number): Promise<FlowOutcome>;
  /** Opens the side-by-side diff of the review, where the proposal is editable. */
  showReviewDiff(): Promise<FlowOutcome>;
  reject(): Promise<FlowOutcome>;
  step(delta: -1 | 1): Promise<FlowOutcome>;
  retry(): Promise<FlowOutcome>;
  cancel(): FlowOutcome;
  showHistory(): Promise<FlowOutcome>;
  exportHistory(): Promise<FlowOutcome>;
  train(options?: { epochs?: number; activate?: boolean }): Promise<FlowOutcome>;
  selectModels(): Promise<FlowOutcome>;
  installCudaSupport(): Promise<FlowOutcome>;
}

type Handler = (features: CommandFeatures, arg: unknown) => Promise<FlowOutcome> | FlowOutcome;

/** Commands take an optional options object (from keybindings' args, other extensions, tests). */
function option(arg: unknown, key: string): unknown {
  return typeof arg === 'object' && arg !== null ? (arg as Record<string, unknown>)[key] : undefined;
}

function hunkArg(arg: unknown): number | undefined {
  const hunk = option(arg, 'hunk');
  return Number.isInteger(hunk) && (hunk as number) >= 0 ? (hunk as number) : undefined;
}

export const commandTable: Readonly<Record<SlhfCommandId, { readonly title: string; readonly run: Handler }>> = {
  'slhf.refineSelection': { title: 'Refine Selection', run: (f) => f.refineSelection() },
  'slhf.trySample': { title: 'Refine a Sample Sentence', run: (f) => f.trySample() },
  'slhf.draftAndRefine': {
    title: 'Draft and Refine',
    run: (f, arg) => f.draftAndRefine(typeof option(arg, 'instruction') === 'string' ? (option(arg, 'instruction') as string) : undefined),
  },
  'slhf.acceptRefinement': {
    title: 'Accept Refinement',
    // { conflict: 'rerun' | 'apply' | 'discard' } answers the "document changed" question up front,
    // { flagged: 'apply' | 'keep-reviewing' } the "this round may have damaged your text" one.
    run: (f, arg) => {
      const conflict = option(arg, 'conflict');
      const flagged = option(arg, 'flagged');
      return f.accept(
        (CONFLICT_CHOICES as readonly unknown[]).includes(conflict) ? (conflict as ConflictChoice) : undefined,
        flagged === 'apply' || flagged === 'keep-reviewing' ? flagged : undefined,
      );
    },
  },
  // { hunk: n } (0-based) names the change; the CodeLens above each change passes it.
  'slhf.acceptChange': { title: 'Accept Change', run: (f, arg) => f.decideChange('accepted', hunkArg(arg)) },
  'slhf.rejectChange': { title: 'Reject Change', run: (f, arg) => f.decideChange('rejected', hunkArg(arg)) },
  'slhf.showReviewDiff': { title: 'Show Side-by-Side Diff (Edit the Proposal)', run: (f) => f.showReviewDiff() },
  'slhf.rejectRefinement': { title: 'Reject Refinement', run: (f) => f.reject() },
  'slhf.previousRound': { title: 'Show Previous Round', run: (f) => f.step(-1) },
  'slhf.nextRound': { title: 'Show Next Round', run: (f) => f.step(1) },
  'slhf.retryRefinement': { title: 'Retry Refinement', run: (f) => f.retry() },
  'slhf.cancelRefinement': { title: 'Cancel Refinement', run: (f) => f.cancel() },
  'slhf.showHistory': { title: 'Show History', run: (f) => f.showHistory() },
  'slhf.exportHistory': { title: 'Export Preference Pairs', run: (f) => f.exportHistory() },
  'slhf.trainFollower': {
    title: 'Train on My Decisions',
    // { epochs } shortens a run (tests); { activate: true | false } answers the "activate the new
    // version?" offer ahead; the palette uses the trainer's defaults and asks.
    run: (f, arg) => {
      const epochs = option(arg, 'epochs');
      const activate = option(arg, 'activate');
      return f.train({
        ...(Number.isInteger(epochs) && (epochs as number) >= 1 ? { epochs: epochs as number } : {}),
        ...(typeof activate === 'boolean' ? { activate } : {}),
      });
    },
  },
  'slhf.selectModels': { title: 'Select Models', run: (f) => f.selectModels() },
  'slhf.installCudaSupport': { title: 'Install CUDA Support', run: (f) => f.installCudaSupport() },
};

export const commandIds = Object.keys(commandTable) as SlhfCommandId[];

export async function runSlhfCommand(command: SlhfCommandId, features: CommandFeatures, log: vscode.LogOutputChannel, arg?: unknown): Promise<CommandOutcome> {
  const outcome = await commandTable[command].run(features, arg);
  log.info(`${command}: ${outcome.message}`);
  return { ...outcome, command };
}

export function registerSlhfCommands(features: CommandFeatures, log: vscode.LogOutputChannel): vscode.Disposable[] {
  return commandIds.map((id) => vscode.commands.registerCommand(id, (arg: unknown) => runSlhfCommand(id, features, log, arg)));
}
