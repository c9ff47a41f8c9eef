// Ctrl+C for `slhf`: the first SIGINT aborts the running command's signal (CliIO.signal), so it
// stops its work, ends its child processes and registers no partial file; the process then exits
// 130, as shells report an interrupted command. A command still running GRACE_MS later, or a
// second Ctrl+C, exits at once: a native call (a prefill) cannot be interrupted from JavaScript,
// and everything the commands write is renamed into place only once complete.
import type { CliIO } from './command';

/** What shells report for a command ended by SIGINT (128 + 2). */
export const INTERRUPTED_EXIT_CODE = 130;
/** Longer than a training run's 2 s cancel grace (src/cli/training.ts), so its worker is killed first. */
const GRACE_MS = 5000;

export interface Interrupt {
  signal: AbortSignal;
  /** The exit code: INTERRUPTED_EXIT_CODE once interrupted, else the command's own. */
  exitCode(code: number): number;
  dispose(): void;
}

export function handleInterrupt(stderr: CliIO['stderr'], exit: (code: number) => void = (code) => process.exit(code)): Interrupt {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const onSigint = () => {
    if (controller.signal.aborted) return exit(INTERRUPTED_EXIT_CODE);
    stderr('slhf: interrupted; stopping (press Ctrl+C again to quit at once)\n');
    controller.abort(new Error('interrupted (SIGINT)'));
    timer = setTimeout(() => exit(INTERRUPTED_EXIT_CODE), GRACE_MS);
    timer.unref();
  };
  process.on('SIGINT', onSigint);
  return {
    signal: controller.signal,
    exitCode: (code) => (controller.signal.aborted ? INTERRUPTED_EXIT_CODE : code),
    dispose: () => {
      process.off('SIGINT', onSigint);
      clearTimeout(timer);
    },
  };
}
