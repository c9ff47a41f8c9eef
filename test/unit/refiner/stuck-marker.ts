// Where stuck-worker.ts notes that it got stuck once for the test process `pid` (which removes it).
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const stuckMarker = (pid: number): string => join(tmpdir(), `slhf-stuck-worker-${pid}`);
