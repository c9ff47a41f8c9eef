// The refiner process as the product runs it (src/refiner/refiner-worker.ts), plus ways to make it
// misbehave on cue, each by a signal, so the product carries no test-only message. Injected through
// RefinerClient's `workerFile`.
// - SIGUSR2: an uncaught exception, as a bug would throw.
// - SIGHUP: ten minutes busy on the event loop, reading nothing (Cancel included), as inside a long
//   native ONNX Runtime call.
// - SIGWINCH: 1.5 GiB more resident memory (touched 16 MiB at a time, so the pages are resident).
import '../../../src/refiner/refiner-worker';
import { blockEventLoop } from './worker-cues';

const CRASH = 'SIGUSR2';
const BLOCK = 'SIGHUP';
const ALLOCATE = 'SIGWINCH';

process.on(CRASH, () => setImmediate(() => {
  throw new Error('refiner process: crash requested by a test');
}));

process.on(BLOCK, blockEventLoop);

const ballast: Buffer[] = [];
process.on(ALLOCATE, () => {
  for (let i = 0; i < 1536 / 16; i++) ballast.push(Buffer.alloc(16 * 2 ** 20, 1));
});
