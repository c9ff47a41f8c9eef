// Entry of the training process (bundled as out/train-worker.js; forked from source with tsx in
// tests). It receives one job over IPC, reports typed progress, and exits: 0 after a new version
// was saved and activated, 1 otherwise. Cancellation stops the run before its next optimizer step,
// its save or its activation (job.ts); nothing is activated by a run that did not finish.
import { TrainingInputError } from './data';
import { runJob } from './job';
import type { ErrorKind, ParentMessage, WorkerMessage } from './protocol';
import { TrainingCancelledError, TrainingDivergedError } from './trainer';

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => (process.send && process.connected ? process.send(message, () => resolve()) : resolve()));
}

let cancelRequested = false;
let started = false;

function kindOf(err: unknown): ErrorKind {
  if (err instanceof TrainingCancelledError) return 'cancelled';
  if (err instanceof TrainingDivergedError) return 'diverged';
  return err instanceof TrainingInputError ? 'invalid' : 'failed';
}

process.on('message', (raw: ParentMessage) => {
  if (raw.type === 'cancel') {
    cancelRequested = true;
    return;
  }
  if (raw.type !== 'start' || started) return;
  started = true;
  runJob(raw.job, (m) => void send(m), () => cancelRequested)
    .then(async ({ version, meta }) => {
      await send({ type: 'done', version, meta });
      process.exit(0);
    })
    .catch(async (err: unknown) => {
      await send({ type: 'error', kind: kindOf(err), message: (err as Error).message ?? String(err) });
      process.exit(1);
    });
});

// A parent that goes away (closed window, crashed host) cancels the run: no orphan keeps training
// and nothing is activated behind the user's back.
process.on('disconnect', () => {
  cancelRequested = true;
});

// Ctrl+C in a terminal reaches the whole process group, this process included: it cancels like the
// parent's request (checked before each step, the save and the activation) instead of killing the
// process between a saved version and its activation.
process.on('SIGINT', () => {
  cancelRequested = true;
});

if (!process.send) {
  process.stderr.write('train-worker: this is the training process; it is started by `slhf train` or the extension, not by hand.\n');
  process.exit(2);
}
