// Explicit garbage collection at the few points where a multi-GB weight copy has just become
// unreachable. V8 frees large ArrayBuffers only when it decides to collect, and ONNX Runtime's native
// allocations do not count towards that decision, so without this two copies can be alive at once.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | null | undefined;

function collector(): (() => void) | null {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as () => void;
    } catch {
      gc = null; // memory is then reclaimed whenever V8 collects; correctness does not depend on it
    }
  }
  return gc;
}

/** One synchronous collection. */
function collectGarbageNow(): void {
  collector()?.();
}

/** A collection, then another after array-buffer backing stores have been released by a task. */
export async function collectGarbage(): Promise<void> {
  collectGarbageNow();
  await new Promise((resolve) => setImmediate(resolve));
  collectGarbageNow();
}
