// Explicit garbage collection at the few points where a lot has just become unreachable right before
// a memory peak: a multi-GB weight copy, a tokenizer's build garbage before a model load. V8 frees
// memory only when it decides to collect, and ONNX Runtime's native allocations do not count towards
// that decision, so without this the garbage is still held at the peak.
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
