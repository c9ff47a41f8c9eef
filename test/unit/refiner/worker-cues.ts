// What the misbehaving test workers (misbehaving-worker.ts, stuck-worker.ts) share; importable by the
// tests too, unlike the workers themselves (importing one would start a refiner worker).
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where stuck-worker.ts notes that it got stuck once for the test process `pid` (which removes it). */
export const stuckMarker = (pid: number): string => join(tmpdir(), `slhf-stuck-worker-${pid}`);

/** Ten minutes busy on the event loop, reading nothing (Cancel included), as inside a long native call. */
export function blockEventLoop(): void {
  for (const end = Date.now() + 10 * 60_000; Date.now() < end;) {
    // busy: the event loop reads nothing meanwhile
  }
}
