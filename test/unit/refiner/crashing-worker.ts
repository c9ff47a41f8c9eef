// The refiner process as the product runs it (src/refiner/refiner-worker.ts), plus one way to crash it on cue
// for the crash tests: SIGUSR2 makes it throw an uncaught exception, as a bug in it would. Injected
// through RefinerClient's `workerFile`, so the product carries no test-only message for this.
import '../../../src/refiner/refiner-worker';

process.on('SIGUSR2', () => setImmediate(() => {
  throw new Error('refiner process: crash requested by a test');
}));
