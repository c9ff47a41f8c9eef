// The extension's entry point. Activation stays light: it registers commands, the panel, the review
// documents and the status bar, and loads no model and no ONNX Runtime. The refiner's worker (which
// loads ORT and the models) starts on the first refinement.
import * as vscode from 'vscode';
import { registerSlhfCommands, runSlhfCommand, type CommandFeatures } from './ui/commands';
import { AcceptedEditWatcher } from './ui/edit-watch';
import { HistoryService } from './ui/history';
import { HistoryActions } from './ui/history-actions';
import { HarperGuard } from './ui/inline-guard';
import { InlineReview } from './ui/inline-review';
import type { VersionList } from './ui/panel-protocol';
import { PANEL_VIEW_ID, PanelViewProvider } from './ui/panel-view';
import { RefineFlow, type StreamEvent } from './ui/refine-flow';
import { RefinerService } from './ui/refiner-service';
import { readModelSettings } from './ui/slhf-settings';
import { ReviewController, type ReviewState } from './ui/review';
import { REVIEW_SCHEME, ReviewDocuments } from './ui/review-documents';
import { createStatusBar } from './ui/status-bar';
import { WalkthroughState } from './ui/walkthrough-state';
import { TrainingRunner } from './ui/training-run';
import { REVIEW_ENDED, streamMessage } from './ui/stream-view';

/** What `activate` returns; other extensions and the in-host tests see it as `extension.exports`. */
export interface SlhfExtensionApi {
  /** Settles when the SLHF panel's webview has been resolved. */
  whenPanelResolved(): Promise<void>;
  /** The folder of the preference store. */
  readonly storeLocation: string;
  /** The refinement being reviewed, if any. */
  reviewState(): ReviewState | undefined;
  /** Every event of running refinements, as the panel's live view gets them. */
  readonly onDidStream: vscode.Event<StreamEvent>;
  /** Ends the watches over accepted refinements now and records what became of them. */
  finishEditWatches(): Promise<void>;
  /** Hands a message to the panel's handler as if the webview had sent it. */
  receivePanelMessage(raw: unknown): Promise<void>;
  /** How many invalid panel messages were ignored so far. */
  ignoredPanelMessages(): number;
  /** The adapter versions the panel offers for the Follower model in use, and why others are not applied. */
  panelVersions(): Promise<VersionList>;
  /** Writes the preference pairs (TRL paired JSONL) to `file` without asking. */
  exportPairs(file: vscode.Uri): Promise<{ ok: boolean; message: string }>;
  /**
   * Stops whatever is running (refinement, training) and closes the review without a decision;
   * resolves once all of it has stopped, naming what had to be stopped. Tests call it between tests.
   */
  stopAll(): Promise<string[]>;
}

let stopping: (() => Promise<void>) | undefined;

export function activate(context: vscode.ExtensionContext): SlhfExtensionApi {
  const log = vscode.window.createOutputChannel('SLHF', { log: true });
  const documents = new ReviewDocuments();
  const history = new HistoryService(context.globalStorageUri, log);
  const refiner = new RefinerService(context.extensionUri, context.globalStorageUri, TrainingRunner.adaptersRoot(context.globalStorageUri), log);
  const trainer = new TrainingRunner(context.extensionUri, context.globalStorageUri, history.location, log);
  const edits = new AcceptedEditWatcher((id, decision) => history.decide(id, decision), log);
  const inline = new InlineReview();
  const guard = new HarperGuard(log, vscode.Uri.joinPath(context.extensionUri, 'out', 'harper-worker.js').fsPath);
  const review = new ReviewController(documents, history, edits, log, inline, guard);
  const flow = new RefineFlow(refiner, history, review, edits, log);
  const actions = new HistoryActions(history, documents, log, (input) => review.open(input));
  const status = createStatusBar();
  status.update(refiner.status());
  let picker: import('./ui/model-picker').ModelPicker | undefined;

  const features: CommandFeatures = {
    refineSelection: () => flow.refineSelection(),
    trySample: async () => {
      const { openSampleSentence } = await import('./ui/sample');
      await openSampleSentence();
      return flow.refineSelection();
    },
    draftAndRefine: (instruction) => flow.draftAndRefine(instruction),
    accept: (conflict, flagged) => review.accept(conflict, flagged),
    decideChange: (choice, hunk) => review.decideHunk(choice, hunk),
    showReviewDiff: () => review.showDiff(),
    reject: () => review.reject(),
    step: (delta) => review.step(delta),
    retry: () => review.retry(),
    cancel: () => flow.cancel(),
    showHistory: async () => {
      await vscode.commands.executeCommand(`${PANEL_VIEW_ID}.focus`);
      return { ok: true, message: 'SLHF: Showing the history.' };
    },
    exportHistory: () => actions.exportPairs(),
    train: async (options) => {
      // The palette's Train waits for new decisions like the panel's button.
      const { trainGate } = await import('./ui/train-gate');
      const gate = trainGate(await actions.training(await trainer.lastTrained()));
      if (!gate.ready) {
        const message = `SLHF: ${gate.note}`;
        void vscode.window.showInformationMessage(message);
        return { ok: false, message };
      }
      return trainer.train(options);
    },
    selectModels: async () => {
      const { ModelPicker } = await import('./ui/model-picker');
      picker ??= new ModelPicker(log, (text) => panel.post({ type: 'status', text, tab: 'models' }), context.extensionUri);
      return picker.pick();
    },
    installCudaSupport: async () => (await import('./ui/gpu-install')).installCudaSupportCommand(),
  };

  const panel = new PanelViewProvider(context.extensionUri, log, {
    runCommand: async (command) => runSlhfCommand(command, features, log),
    history: (text, filter) => actions.list(text, filter),
    training: async () => actions.training(await trainer.lastTrained()),
    models: () => refiner.status(),
    deleteSession: (id) => actions.delete(id),
    reopenSession: (id) => actions.reopen(id),
    explainSession: (id) => actions.teaches(id, trainer.leaderPlan() === 'shared'),
    versions: () => trainer.versions(),
    switchVersion: (target) => trainer.switchVersion(target),
    leaderPlan: () => trainer.leaderPlan(),
  });
  const refreshPanel = () => void Promise.all([panel.refreshHistory(), panel.refreshTraining()]).catch((error: Error) => log.error(`panel refresh: ${error.message}`));
  // The walkthrough's steps tick on what happened (walkthrough-state.ts).
  const walkthrough = new WalkthroughState();
  const markWalkthrough = () => {
    walkthrough.mark('realModel', !readModelSettings(context.globalStorageUri, context.extensionUri).builtIn);
    void import('./training/versions').then(({ listVersions }) => walkthrough.mark('trained', listVersions(TrainingRunner.adaptersRoot(context.globalStorageUri)).length > 0));
    void history.store().then((store) => store.stats()).then((stats) => walkthrough.markStore({ sessions: stats.sessions, decided: stats.acceptance.decided }))
      .catch((error: Error) => log.warn(`walkthrough: ${error.message}`));
  };
  markWalkthrough();

  context.subscriptions.push(
    log, documents, history, refiner, trainer, edits, review, inline, guard, flow, panel, status.item,
    ...registerSlhfCommands(features, log),
    vscode.workspace.registerFileSystemProvider(REVIEW_SCHEME, documents, { isCaseSensitive: true }),
    vscode.window.registerWebviewViewProvider(PANEL_VIEW_ID, panel, { webviewOptions: { retainContextWhenHidden: true } }),
    refiner.onDidChangeStatus((s) => {
      status.update(s);
      panel.pushModels();
    }),
    history.onDidChange(refreshPanel),
    history.onDidChange(markWalkthrough),
    trainer.onDidReportMetrics((metrics) => panel.post({ type: 'trainingMetrics', metrics })),
    trainer.onDidActivate(() => {
      markWalkthrough();
      status.update(refiner.status());
      panel.pushModels();
      // The counts too: "new decisions since" the newest version changes with a run.
      void Promise.all([panel.refreshVersions(), panel.refreshTraining()]).catch((error: Error) => log.error(`panel versions: ${error.message}`));
    }),
    // Versions belong to the base model they were trained on: a model switch says which one applies now.
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!event.affectsConfiguration('slhf.follower.model') && !event.affectsConfiguration('slhf.leader.model')) return;
      markWalkthrough();
      void trainer.describeModelSwitch().then((note) => {
        log.info(note);
        void vscode.window.showInformationMessage(note);
        return Promise.all([panel.refreshVersions(), panel.refreshTraining()]);
      }).catch((error: Error) => log.error(`model switch: ${error.message}`));
    }),
    review.onDidEnd(() => panel.post(REVIEW_ENDED)),
    flow.onDidStream((event) => {
      const message = streamMessage(event);
      if (message) panel.post(message);
    }),
  );
  stopping = () => edits.finishAll();
  log.info(`SLHF Refine ${String(context.extension.packageJSON.version)} activated`);
  return {
    whenPanelResolved: () => panel.whenResolved,
    storeLocation: history.location,
    reviewState: () => review.state(),
    onDidStream: flow.onDidStream,
    finishEditWatches: () => edits.finishAll(),
    receivePanelMessage: (raw) => panel.receive(raw),
    ignoredPanelMessages: () => panel.ignoredMessages,
    exportPairs: (file) => actions.exportPairs(file),
    panelVersions: () => trainer.versions(),
    stopAll: async () => {
      const started = Date.now();
      const [refinement, training] = await Promise.all([flow.stop(), trainer.stop()]);
      // A refiner process that ignored Cancel is killed: wait (bounded) until it has exited, so the
      // next refinement does not share the CPU or memory with it.
      const exit = refinement.workerExited && (await Promise.race([
        refinement.workerExited.then(() => `its worker exited after ${Date.now() - started} ms`),
        new Promise<string>((resolve) => setTimeout(() => resolve(`its worker was still exiting after ${Date.now() - started} ms`), 60_000).unref()),
      ]));
      const hadReview = review.state() !== undefined;
      await review.dismiss();
      return [
        ...(refinement.how !== 'idle' ? [`refinement (${refinement.how} after ${refinement.ms} ms${exit ? `; ${exit}` : ''})`] : []),
        ...(training !== 'idle' ? ['training'] : []),
        ...(hadReview ? ['review'] : []),
      ];
    },
  };
}

/** Records what became of accepted refinements still being watched. */
export function deactivate(): Promise<void> | undefined {
  return stopping?.();
}
