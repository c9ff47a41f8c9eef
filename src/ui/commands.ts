// The one home of the SLHF command table: every command the manifest contributes, and what it does
// today. Until a command's feature lands it answers honestly that it is not available yet.
import * as vscode from 'vscode';

export type SlhfCommandId =
  | 'slhf.refineSelection'
  | 'slhf.draftAndRefine'
  | 'slhf.acceptRefinement'
  | 'slhf.rejectRefinement'
  | 'slhf.showHistory'
  | 'slhf.trainFollower'
  | 'slhf.selectModels';

/** What running a command did; returned from `executeCommand` so callers (the panel, tests) can see it. */
export interface CommandOutcome {
  readonly command: SlhfCommandId;
  readonly available: boolean;
  readonly message: string;
}

interface CommandSpec {
  readonly title: string;
  /** What the command will do once its feature lands; said in the "not available yet" answer. */
  readonly purpose: string;
}

export const commandTable: Readonly<Record<SlhfCommandId, CommandSpec>> = {
  'slhf.refineSelection': { title: 'Refine Selection', purpose: 'refining the selected text with the Follower' },
  'slhf.draftAndRefine': { title: 'Draft and Refine', purpose: 'drafting with the Leader and refining with the Follower' },
  'slhf.acceptRefinement': { title: 'Accept Refinement', purpose: 'accepting a reviewed refinement' },
  'slhf.rejectRefinement': { title: 'Reject Refinement', purpose: 'rejecting a reviewed refinement' },
  'slhf.showHistory': { title: 'Show History', purpose: 'browsing past refinements and decisions' },
  'slhf.trainFollower': { title: 'Train Follower', purpose: 'training the Follower on your decisions' },
  'slhf.selectModels': { title: 'Select Models', purpose: 'choosing the Leader and Follower models' },
};

export const commandIds = Object.keys(commandTable) as SlhfCommandId[];

export function isSlhfCommandId(value: unknown): value is SlhfCommandId {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(commandTable, value);
}

function notAvailableYet(command: SlhfCommandId): CommandOutcome {
  const { title, purpose } = commandTable[command];
  return {
    command,
    available: false,
    message: `SLHF: ${title} is not available yet. This version of SLHF Refine does not include ${purpose}.`,
  };
}

/** Runs a command's handler, tells the user what happened, and returns the outcome. */
export function runSlhfCommand(command: SlhfCommandId, log: vscode.LogOutputChannel): CommandOutcome {
  const outcome = notAvailableYet(command);
  log.info(`${command}: ${outcome.message}`);
  // Not awaited: the promise settles only when the user dismisses the message.
  void vscode.window.showInformationMessage(outcome.message);
  return outcome;
}

export function registerSlhfCommands(log: vscode.LogOutputChannel): vscode.Disposable[] {
  return commandIds.map((id) => vscode.commands.registerCommand(id, () => runSlhfCommand(id, log)));
}
