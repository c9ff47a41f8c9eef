// Refine Selection and Draft and Refine: take the text, run the refiner in its worker with a
// cancellable progress notification while the text streams into the panel, record the session in
// the store, and open the review. Nothing here writes to the user's document; the review does,
// on Accept.
import * as vscode from 'vscode';
import type { RefineEvent, RefineRequest } from '../refiner/loop';
import type { DocumentKind } from '../base/generation-record';
import type { GeneratedText } from '../refiner/refiner-settings';
import { pickTarget, type DraftTarget } from './draft-target';
import type { AcceptedEditWatcher } from './edit-watch';
import type { HistoryService } from './history';
import { ModelsNotConfiguredError, type RefinerService } from './refiner-service';
import type { ReviewController } from './review';
import { readRefineSettings } from './slhf-settings';

export interface FlowOutcome {
  readonly ok: boolean;
  readonly message: string;
  readonly sessionId?: string;
  readonly cancelled?: boolean;
}

/** The refinement's events, for the panel's live view (and the API). */
export type StreamEvent =
  | RefineEvent
  | { readonly type: 'begin'; readonly mode: 'refine' | 'draft'; readonly rounds: number }
  /** The refinement failed (no 'done' follows): the live view must not keep showing it as running. */
  | { readonly type: 'failed'; readonly message: string };

interface RunResult {
  readonly draft: string;
  readonly leaderDraft?: GeneratedText;
  readonly rounds: GeneratedText[];
  /** The preset the refiner chose for the request (its prompts were built with it). */
  readonly preset: DocumentKind;
}

function generationRequest(): Pick<RefineRequest, 'rounds' | 'followerInstruction' | 'settings' | 'harperFirstPass'> {
  const { request, notes } = readRefineSettings();
  for (const note of notes) void vscode.window.showWarningMessage(`SLHF: ${note}`);
  return request;
}

export class RefineFlow implements vscode.Disposable {
  private running: AbortController | undefined;
  private readonly streamed = new vscode.EventEmitter<StreamEvent>();
  readonly onDidStream = this.streamed.event;

  constructor(
    private readonly refiner: RefinerService,
    private readonly history: HistoryService,
    private readonly review: ReviewController,
    private readonly edits: AcceptedEditWatcher,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  refineSelection(): Promise<FlowOutcome> {
    const picked = pickTarget(vscode.window.activeTextEditor, 'selection-or-paragraph');
    if (!picked.ok) return Promise.resolve(this.refuse(picked.message));
    return this.refineTarget(picked.target);
  }

  private refineTarget(target: DraftTarget): Promise<FlowOutcome> {
    return this.run(target, 'refine', { draft: target.text }, (result) => ({ baseline: target.text, baselineLabel: 'Original', instruction: '', draft: result.draft }));
  }

  /** The instruction comes from `instruction`, else from the selection, else from an input box. */
  async draftAndRefine(instruction?: string): Promise<FlowOutcome> {
    const picked = pickTarget(vscode.window.activeTextEditor, 'selection-or-cursor');
    if (!picked.ok) return this.refuse(picked.message);
    const target = picked.target;
    let text = instruction ?? target.text;
    if (!text.trim()) {
      text = (await vscode.window.showInputBox({ title: 'SLHF: Draft and Refine', prompt: 'What should the Leader write?', placeHolder: 'e.g. A short paragraph explaining why the cache is keyed by content', ignoreFocusOut: true })) ?? '';
      if (!text.trim()) return { ok: false, cancelled: true, message: 'SLHF: No instruction given; nothing was drafted.' };
    }
    return this.run(target, 'draft', { leaderDraft: true, instruction: text }, (result) => ({ baseline: result.draft, baselineLabel: 'Leader draft', instruction: text, draft: result.draft }));
  }

  cancel(): FlowOutcome {
    if (!this.running) {
      void vscode.window.showInformationMessage('SLHF: No refinement is running.');
      return { ok: false, message: 'SLHF: No refinement is running.' };
    }
    this.running.abort();
    return { ok: true, message: 'SLHF: Cancelling the refinement.' };
  }

  /**
   * Cancels a running refinement and resolves once it has ended. One that is still running after
   * `graceMs` has its worker shut down. Says which it took and how long; throws if even that did not end it.
   */
  async stop(graceMs = 5000): Promise<{ how: 'idle' | 'cancelled' | 'shut-down'; ms: number; workerExited?: Promise<void> }> {
    const started = Date.now();
    const took = (how: 'idle' | 'cancelled' | 'shut-down') => ({ how, ms: Date.now() - started });
    if (!this.running) return took('idle');
    this.running.abort();
    if (await this.idleWithin(graceMs)) return took('cancelled');
    this.log.warn(`the refinement did not stop within ${graceMs} ms of Cancel; shutting the refiner worker down`);
    // Ending the refiner process fails the refinement's pending events at once; the process is
    // killed (SIGKILL) and its exit is a promise of its own.
    const workerExited = this.refiner.shutDown().catch((error: Error) => this.log.error(`shutting the refiner down: ${error.message}`));
    if (await this.idleWithin(graceMs)) return { ...took('shut-down'), workerExited };
    throw new Error(`the refinement is still running ${Date.now() - started} ms after Cancel, even with its worker shut down`);
  }

  private async idleWithin(ms: number): Promise<boolean> {
    for (const deadline = Date.now() + ms; this.running && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 50));
    return !this.running;
  }

  private refuse(message: string): FlowOutcome {
    this.log.info(message);
    void vscode.window.showWarningMessage(message);
    return { ok: false, message };
  }

  private async run(
    target: DraftTarget,
    mode: 'refine' | 'draft',
    input: Pick<RefineRequest, 'draft' | 'leaderDraft' | 'instruction'>,
    describe: (result: RunResult) => { baseline: string; baselineLabel: string; instruction: string; draft: string },
  ): Promise<FlowOutcome> {
    if (this.running) return this.refuse('SLHF: A refinement is already running. Wait for it, or cancel it ("SLHF: Cancel Refinement").');
    const controller = new AbortController();
    this.running = controller;
    // A new refinement ends the watch over the previous accepted one.
    await this.edits.finishAll();
    if (target.contextDropped) this.log.warn(`left the text before the selection out of the context: ${target.contextDropped}`);
    const request: RefineRequest = { ...input, ...generationRequest(), context: target.context, languageId: target.document.languageId };
    try {
      const result = await this.generate(request, mode, controller);
      if (!result) {
        this.log.info('refinement cancelled');
        void vscode.window.showInformationMessage('SLHF: Refinement cancelled; your text is unchanged.');
        return { ok: false, cancelled: true, message: 'SLHF: Refinement cancelled; your text is unchanged.' };
      }
      const described = describe(result);
      const session = await this.history.record({
        languageId: target.document.languageId, preset: result.preset,
        context: target.context, instruction: described.instruction, draft: described.draft, leaderDraft: result.leaderDraft, rounds: result.rounds,
      });
      await this.review.open({
        sessionId: session.id, document: target.document, range: target.range, version: target.version, original: target.text,
        baseline: described.baseline, baselineLabel: described.baselineLabel, rounds: result.rounds.map((r) => r.text),
        rerun: (document, range) => this.refineTarget({ ...target, document, range, text: document.getText(range), version: document.version }),
      });
      return { ok: true, sessionId: session.id, message: `SLHF: ${result.rounds.length} round(s) ready for review.` };
    } catch (error) {
      return this.fail(error);
    } finally {
      this.running = undefined;
    }
  }

  /** The refinement's rounds, or undefined when it was cancelled. */
  private generate(request: RefineRequest, mode: 'refine' | 'draft', controller: AbortController): Thenable<RunResult | undefined> {
    const title = mode === 'refine' ? 'SLHF: Refining' : 'SLHF: Drafting and refining';
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
      token.onCancellationRequested(() => controller.abort());
      this.streamed.fire({ type: 'begin', mode, rounds: request.rounds });
      const steps = request.rounds + (request.leaderDraft ? 1 : 0);
      let leaderDraft: GeneratedText | undefined;
      for await (const event of this.refiner.refine(request, controller.signal)) {
        this.streamed.fire(event);
        if (event.type === 'round-start') {
          const what = event.role === 'leader' ? 'the Leader is drafting' : `Follower round ${event.round} of ${request.rounds}`;
          progress.report({ message: what, increment: 100 / steps });
        } else if (event.type === 'round-end' && event.result.role === 'leader') {
          leaderDraft = event.result;
        } else if (event.type === 'done') {
          if (event.stoppedBy === 'cancelled' || controller.signal.aborted) return undefined;
          if (event.skipped) {
            // The rounds before it are kept and reviewed; the user learns why there are fewer.
            this.log.warn(`round ${event.skipped.round} skipped: ${event.skipped.reason}`);
            void vscode.window.showWarningMessage(`SLHF: Round ${event.skipped.round} was skipped and the ${event.rounds.length} round(s) before it are ready for review: ${event.skipped.reason}`);
          }
          return { draft: event.draft, leaderDraft, rounds: event.rounds, preset: event.preset };
        }
      }
      return controller.signal.aborted ? undefined : Promise.reject(new Error('the refiner stopped without a result'));
    });
  }

  private fail(error: unknown): FlowOutcome {
    const message = error instanceof Error ? error.message : String(error);
    this.log.error(`refinement failed: ${message}`);
    this.streamed.fire({ type: 'failed', message });
    if (error instanceof ModelsNotConfiguredError) {
      void vscode.window.showErrorMessage(message, 'Open Settings').then((picked) => {
        if (picked) void vscode.commands.executeCommand('workbench.action.openSettings', 'slhf.follower.model');
      });
    } else if (error instanceof Error && error.name === 'RefinerInputError') {
      void vscode.window.showErrorMessage(`SLHF: ${message}`);
    } else {
      void vscode.window.showErrorMessage(`SLHF: The refinement failed: ${message}`, 'Show Log').then((picked) => picked && this.log.show());
    }
    return { ok: false, message };
  }

  dispose(): void {
    this.running?.abort();
    this.streamed.dispose();
  }
}
