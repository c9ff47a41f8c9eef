// Train: runs `slhf train` (the CLI, in its own process, which forks the training worker) on the
// store's decisions, with `--leader same` when slhf.training.leader trains the Leader on the shared
// adapter; shows its progress as a cancellable notification and in the panel's chart, and points
// the refiner at the version it activates. Running the CLI keeps the store -> job step (game
// samples tokenized for the model, the held-out split) in one home, src/cli/training.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { WorkerMessage } from '../training/protocol';
import type { VersionMeta } from '../training/versions';
import { describeLeaderPlan, leaderPlan, type LeaderPlan } from './leader-training';
import type { FlowOutcome } from './refine-flow';
import type { TrainingMetrics, VersionList } from './panel-protocol';
import { modelLabel, ModelsNotConfiguredError } from './refiner-service';
import { readModelSettings, readTrainLeader } from './slhf-settings';

export interface TrainOptions {
  /** Passed to `slhf train --epochs` (tests use 1). */
  readonly epochs?: number;
  /**
   * What to do with the new version: unset, offer it with its evaluation (a notification with
   * Activate / Keep); true, activate it at once; false, only save it. Tests and automation answer ahead.
   */
  readonly activate?: boolean;
}

export class TrainingRunner implements vscode.Disposable {
  private child: ChildProcess | undefined;
  private readonly metricsChanged = new vscode.EventEmitter<TrainingMetrics>();
  readonly onDidReportMetrics = this.metricsChanged.event;
  private readonly finished = new vscode.EventEmitter<string>();
  /** Fires with the active version ('base' for none) after a run, a switch or a rollback. */
  readonly onDidActivate = this.finished.event;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly globalStorage: vscode.Uri,
    private readonly storeLocation: string,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** Where versions and active.json live (the refiner reads the active adapter from here). */
  static adaptersRoot(globalStorage: vscode.Uri): string {
    return join(globalStorage.fsPath, 'follower');
  }

  /** Every version with its meta, oldest first, split by whether it was made for the Follower model in use. */
  private async versionsByBase() {
    const { listVersions, readActive, readMeta } = await import('../training/versions');
    const { currentBase, splitByBase } = await import('./version-base');
    const root = TrainingRunner.adaptersRoot(this.globalStorage);
    const settings = readModelSettings(this.globalStorage, this.extensionUri);
    const fit = splitByBase(listVersions(root).map((version) => ({ version, meta: readMeta(root, version) })), await currentBase(settings.follower));
    const activeName = readActive(root)?.version ?? null;
    const active = activeName === null ? null : { version: activeName, meta: readMeta(root, activeName) };
    return { fit, active, model: modelLabel(settings) };
  }

  /** The versions made for the Follower model in use, newest first, and the active one among them. */
  async versions(): Promise<VersionList> {
    const { fit, active, model } = await this.versionsByBase();
    const versions = fit.fitting.reverse().map(({ version, meta }) => {
      const origin = meta.imported;
      const imported = origin ? { imported: `imported from ${origin.source} (LoRA r ${origin.rank}, alpha ${origin.alpha}, trained on ${origin.baseModel ?? 'an unnamed base'})` } : {};
      return {
        version, createdAt: meta.createdAt, decisions: meta.data.trainPairs, samples: meta.data.samples,
        heldOutAccuracy: meta.metrics.heldOutAccuracy ?? null, heldOutDecisions: meta.data.heldOutPairs, ...imported,
      };
    });
    const applies = active !== null && versions.some((v) => v.version === active.version);
    const { notAppliedNote } = await import('./version-base');
    const notes = [
      active && !applies ? notAppliedNote(active.version, active.meta, model) : '',
      fit.other.length ? `${fit.other.length} version(s) trained on other models are not listed; they apply again when you switch back to their model.` : '',
    ];
    return { active: applies ? active.version : null, versions, otherBase: fit.other.length, note: notes.filter(Boolean).join(' ') };
  }

  /** The newest version trained here (not imported) for the Follower model in use: decisions after it are new. */
  async lastTrained(): Promise<{ version: string; createdAt: string } | null> {
    const { fit } = await this.versionsByBase();
    const newest = fit.fitting.filter((v) => !v.meta.imported).at(-1);
    return newest ? { version: newest.version, createdAt: newest.meta.createdAt } : null;
  }

  /** After the Follower model changed: which version, if any, applies to the new one. */
  async describeModelSwitch(): Promise<string> {
    const { fit, active, model } = await this.versionsByBase();
    const { switchNote } = await import('./version-base');
    return switchNote(model, active, fit);
  }

  /** Activates a version ('base': the untrained model), or rolls back to the previous one. */
  async switchVersion(target: { version: string } | 'rollback'): Promise<string | null> {
    if (this.child) throw new Error('Training is running; switch versions after it ends.');
    const { activate } = await import('../training/versions');
    const root = TrainingRunner.adaptersRoot(this.globalStorage);
    const { fit, active, model } = await this.versionsByBase();
    let version: string | null;
    if (target === 'rollback') {
      // Back through this model's versions only: another model's would not apply.
      const mine = fit.fitting.map((v) => v.version);
      const at = active ? mine.indexOf(active.version) : -1;
      if (at < 0) throw new Error('Nothing to roll back: the base model is active for this model.');
      version = at > 0 ? mine[at - 1] : null;
    } else {
      version = target.version === 'base' ? null : target.version;
      const other = fit.other.find((v) => v.version === version);
      const { describeBase } = await import('../models/base-identity');
      if (other) throw new Error(`Version ${other.version} was trained on ${describeBase(other.meta)}, not on ${model}; it cannot be applied to this model.`);
    }
    const pointer = activate(root, version);
    this.log.info(`Follower version: ${pointer.version ?? 'base model'}`);
    this.finished.fire(pointer.version ?? 'base');
    return pointer.version;
  }

  /** What the next run does with the Leader, from slhf.training.leader and the model settings. */
  leaderPlan(): LeaderPlan {
    return leaderPlan(readTrainLeader(), readModelSettings(this.globalStorage, this.extensionUri));
  }

  async train(options: TrainOptions = {}): Promise<FlowOutcome> {
    if (this.child) return { ok: false, message: 'SLHF: Training is already running.' };
    const settings = readModelSettings(this.globalStorage, this.extensionUri);
    if (!settings.follower) {
      const message = new ModelsNotConfiguredError().message;
      void vscode.window.showErrorMessage(message);
      return { ok: false, message };
    }
    const cli = vscode.Uri.joinPath(this.extensionUri, 'out', 'cli.js').fsPath;
    // The CLI saves the new version; activating it is the user's choice (offerVersion).
    const args = [cli, 'train', '--store', this.storeLocation, '--follower', settings.follower, '--out', TrainingRunner.adaptersRoot(this.globalStorage), '--json-progress', '--no-activate'];
    const plan = this.leaderPlan();
    if (plan === 'shared') args.push('--leader', 'same');
    this.log.info(`training: ${describeLeaderPlan(plan)}`);
    // A named provider trains there (falling back to the CPU); 'auto' trains on the CPU, where training was measured.
    if (settings.device !== 'auto' && settings.device !== 'cpu') args.push('--device', settings.device);
    if (options.epochs !== undefined) args.push('--epochs', String(options.epochs));
    this.log.info(`training: ${args.slice(1).join(' ')}`);
    const metrics = { loss: [] as number[], kl: [] as number[], score: [] as number[] };
    const title = plan === 'shared' ? 'SLHF: Training the Leader and Follower' : 'SLHF: Training the Follower';
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) =>
      new Promise<FlowOutcome>((resolve) => {
        // In VS Code desktop the extension host's executable is Electron; this makes it act as Node.
        const child = spawn(process.execPath, args, { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
        this.child = child;
        let done: { version: string; meta: VersionMeta } | undefined;
        let error = '';
        let stderr = '';
        let pending = '';
        token.onCancellationRequested(() => child.kill('SIGINT'));
        child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
        child.stdout?.on('data', (chunk: Buffer) => {
          const lines = (pending + chunk.toString()).split('\n');
          pending = lines.pop() ?? '';
          for (const line of lines) {
            let message: WorkerMessage;
            try {
              message = JSON.parse(line) as WorkerMessage;
            } catch {
              this.log.debug(`training: ${line}`);
              continue;
            }
            if (message.type === 'progress') {
              const p = message.progress;
              metrics.loss.push(p.loss);
              metrics.kl.push(p.kl);
              metrics.score.push(p.followerScore);
              this.metricsChanged.fire({ ...metrics });
              progress.report({ message: `step ${p.step} of ${p.totalSteps}, loss ${p.loss.toFixed(4)}`, increment: 100 / p.totalSteps });
            } else if (message.type === 'done') {
              done = { version: message.version, meta: message.meta };
            } else if (message.type === 'error') {
              error = message.message;
            }
          }
        });
        child.on('close', (code) => {
          this.child = undefined;
          if (code === 0 && done) {
            resolve(this.offerVersion(done.version, done.meta, plan, options.activate));
          } else if (token.isCancellationRequested) {
            resolve({ ok: false, cancelled: true, message: 'SLHF: Training cancelled; the active Follower version is unchanged.' });
          } else {
            // The CLI names itself ("slhf train: ..."); the notification already says what failed.
            const why = error || stderr.trim().split('\n').slice(-3).join(' ').replace(/^slhf train: /, '') || `exit code ${code}`;
            const message = `SLHF: Training failed: ${why}`;
            this.log.error(`${message}\n${stderr}`);
            void vscode.window.showErrorMessage(message);
            resolve({ ok: false, message });
          }
        });
      }));
  }

  /**
   * After a run: the new version is saved, not active. Offers it with its evaluation (Activate /
   * Keep the active one), or answers as `activate` says; resolves without waiting for the answer.
   */
  private async offerVersion(version: string, meta: VersionMeta, plan: LeaderPlan, activate: boolean | undefined): Promise<FlowOutcome> {
    const roles = plan === 'shared' ? ' for the Follower and the Leader (one shared adapter)' : '';
    if (activate === true) {
      await this.switchVersion({ version });
      const message = plan === 'shared'
        ? `SLHF: Trained and activated version ${version}${roles}.`
        : `SLHF: Trained and activated Follower version ${version}. ${describeLeaderPlan(plan)}`;
      void vscode.window.showInformationMessage(message);
      return { ok: true, message };
    }
    const { active } = await this.versions();
    // The panel lists the new version (with its Activate button) and the counts since it.
    this.finished.fire(active ?? 'base');
    const { activationOffer } = await import('./held-out-text');
    const offer = activationOffer(version, {
      trainDecisions: meta.data.trainPairs, heldOutDecisions: meta.data.heldOutPairs,
      heldOutAccuracy: meta.metrics.heldOutAccuracy ?? null, accuracyBefore: meta.metrics.heldOutAccuracyBefore ?? null,
    }, active);
    this.log.info(`training: saved ${version}${roles}, not activated: ${offer.text}`);
    if (activate === undefined) {
      void vscode.window.showInformationMessage(`SLHF: ${offer.text}`, offer.activate, offer.keep).then(async (picked) => {
        if (picked !== offer.activate) return this.log.info(`training: ${version} not activated (${picked ?? 'the offer was dismissed'}); ${active ?? 'the base model'} stays active`);
        await this.switchVersion({ version }).catch((error: Error) => void vscode.window.showErrorMessage(`SLHF: ${error.message}`));
      });
    }
    const still = active ? `${active} stays active` : 'the base model stays active';
    const where = activate === undefined ? 'in the notification or in the versions list' : 'in the versions list';
    return { ok: true, message: `SLHF: ${offer.text.replace(/ Activate it\?$/, '')} Not active yet (${still}): activate it ${where}.` };
  }

  /** Stops a running training (SIGINT, SIGKILL after `graceMs`) and resolves once the process has exited. */
  async stop(graceMs = 5000): Promise<'idle' | 'stopped'> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return 'idle';
    const closed = new Promise((resolve) => child.once('close', resolve));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await closed;
    clearTimeout(timer);
    return 'stopped';
  }

  dispose(): void {
    this.child?.kill('SIGINT');
    this.metricsChanged.dispose();
    this.finished.dispose();
  }
}
