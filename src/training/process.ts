// Starts a training run in its own process and follows it: typed progress, cancellation, and a
// result that says whether a new version was activated.
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { forkEntry, type ProcessEntry } from '../base/child-process';
import type { ErrorKind, TrainJob, WorkerMessage } from './protocol';
import type { VersionMeta } from './versions';

export type WorkerEntry = ProcessEntry;

/** out/train-worker.js next to the bundle; from source, worker.ts through tsx. */
export function defaultWorkerEntry(): WorkerEntry {
  const bundled = join(__dirname, 'train-worker.js');
  if (existsSync(bundled)) return { path: bundled, execArgv: [] };
  const source = join(__dirname, 'worker.ts');
  if (existsSync(source)) return { path: source, execArgv: ['--import', 'tsx'] };
  const sibling = join(__dirname, '..', 'training', 'worker.ts');
  if (existsSync(sibling)) return { path: sibling, execArgv: ['--import', 'tsx'] };
  throw new Error(`training worker not found next to ${__dirname} (expected train-worker.js); build with npm run build`);
}

export type RunOutcome =
  | { ok: true; version: string; meta: VersionMeta }
  | { ok: false; kind: ErrorKind | 'crashed'; message: string };

export interface TrainingRun {
  child: ChildProcess;
  result: Promise<RunOutcome>;
  /** Asks the run to stop after the current step; kills it if it has not exited after graceMs. */
  cancel(graceMs?: number): void;
}

export function startTraining(job: TrainJob, onMessage: (m: WorkerMessage) => void = () => undefined, entry: WorkerEntry = defaultWorkerEntry()): TrainingRun {
  const child = forkEntry(entry);
  let outcome: RunOutcome | null = null;
  const result = new Promise<RunOutcome>((resolve) => {
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'done') outcome = { ok: true, version: m.version, meta: m.meta };
      else if (m.type === 'error') outcome = { ok: false, kind: m.kind, message: m.message };
      onMessage(m);
    });
    child.on('error', (err) => resolve({ ok: false, kind: 'crashed', message: err.message }));
    child.on('exit', (code, signal) => {
      resolve(outcome ?? { ok: false, kind: 'crashed', message: `training process exited without a result (${signal ? `signal ${signal}` : `code ${code}`})` });
    });
  });
  child.send({ type: 'start', job });
  return {
    child,
    result,
    cancel(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ type: 'cancel' });
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      timer.unref();
      child.once('exit', () => clearTimeout(timer));
    },
  };
}
