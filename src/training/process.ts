// Starts a training run in its own process and follows it: typed progress, cancellation, and a
// result that says whether a new version was activated.
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defaultMemoryLimitBytes, forkEntry, formatGiB, watchMemory, type ProcessEntry } from '../base/child-process';
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

/** The message of a run stopped at its memory cap: nothing was saved, and what to do about it. */
export function trainingMemoryMessage(limitBytes: number): string {
  return `Training needed more than ${formatGiB(limitBytes)} of memory and was stopped; nothing was saved and the active version is unchanged. ` +
    'Long decisions cost the most (a sample\'s memory grows with the square of its length): train with a smaller batch (--batch-size), or on a smaller model.';
}

export interface TrainingOptions {
  /** The process is killed above this resident memory and the run fails with trainingMemoryMessage. Default: defaultMemoryLimitBytes(). */
  memoryLimitBytes?: number;
}

export function startTraining(job: TrainJob, onMessage: (m: WorkerMessage) => void = () => undefined, entry: WorkerEntry = defaultWorkerEntry(), options: TrainingOptions = {}): TrainingRun {
  const child = forkEntry(entry);
  let outcome: RunOutcome | null = null;
  // Training runs beside the editor: a run that grows past its cap (a long decision's attention, a
  // big model) is killed, as the refiner's process is, before it can push the machine into swap.
  const limit = options.memoryLimitBytes ?? defaultMemoryLimitBytes();
  let overLimit = false;
  const stopWatch = watchMemory(child, limit, () => {
    overLimit = true;
    outcome = { ok: false, kind: 'failed', message: trainingMemoryMessage(limit) };
    child.kill('SIGKILL');
  });
  child.once('exit', stopWatch);
  const result = new Promise<RunOutcome>((resolve) => {
    child.on('message', (m: WorkerMessage) => {
      if (overLimit) return; // killed at its memory cap: what it still says no longer counts
      if (m.type === 'done') {
        outcome = { ok: true, version: m.version, meta: m.meta };
        stopWatch(); // saved: from here on the process only exits
      }
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
