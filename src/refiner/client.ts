// The extension host's side of the generation worker: requests as async iterators of events,
// cancellation by AbortSignal, and a worker that is restarted after a crash, so the next request
// works. The crash itself reaches the requests that were in flight as a WorkerCrashedError.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { EventQueue } from './event-queue';
import type { RefineEvent, RefineRequest } from './loop';
import type { FromWorker, ToWorker, WorkerConfig } from './protocol';
import { RefinerInputError } from './settings';

export class WorkerCrashedError extends Error {
  override name = 'WorkerCrashedError';
}

export interface RefinerClientOptions {
  /** The worker script; by default out/refiner-worker.js beside the bundle, or worker.ts (run through tsx) from source. */
  workerFile?: string;
  onLog?: (message: string) => void;
  /** Told about every crash (the worker restarts on the next request). */
  onCrash?: (error: WorkerCrashedError) => void;
}

function defaultWorkerFile(): string {
  if (__filename.endsWith('.ts')) return join(__dirname, 'worker.ts');
  const file = join(__dirname, 'refiner-worker.js');
  if (!existsSync(file)) throw new Error(`the refiner worker bundle is missing: ${file} (build it from src/refiner/worker.ts)`);
  return file;
}

function startWorker(file: string): Worker {
  // Node 20 workers do not inherit `--import tsx` for a .ts entry; tsx's require hook does the job.
  if (file.endsWith('.ts')) return new Worker(`require('tsx/cjs'); require(${JSON.stringify(file)});`, { eval: true });
  return new Worker(file);
}

/** Errors thrown in the worker come back with their kind, so input errors stay user-facing. */
function revive(error: { name: string; message: string }): Error {
  const err = error.name === 'RefinerInputError' ? new RefinerInputError(error.message) : new Error(error.message);
  if (error.name !== 'RefinerInputError') err.name = error.name;
  return err;
}

export class RefinerClient {
  private worker: Worker | null = null;
  private pending = new Map<number, EventQueue<RefineEvent>>();
  private nextId = 1;
  private adapter: string | null | undefined;
  private crashes = 0;

  constructor(private config: WorkerConfig, private readonly options: RefinerClientOptions = {}) {}

  /** How many times the worker died; each death was followed by a restart on demand. */
  get crashCount(): number {
    return this.crashes;
  }

  configure(config: WorkerConfig): void {
    this.config = config;
    this.adapter = undefined;
    this.post({ type: 'configure', config }, false);
  }

  setFollowerAdapter(adapter: string | null): void {
    this.adapter = adapter;
    this.post({ type: 'set-adapter', adapter }, false);
  }

  unloadModels(): void {
    this.post({ type: 'unload' }, false);
  }

  /** Test only: kills the worker. */
  crashForTest(how: 'exit' | 'throw'): void {
    this.post({ type: 'crash', how }, true);
  }

  async *refine(request: RefineRequest, signal?: AbortSignal): AsyncGenerator<RefineEvent> {
    const id = this.nextId++;
    const queue = new EventQueue<RefineEvent>();
    this.pending.set(id, queue);
    const cancel = () => this.post({ type: 'cancel', id }, false);
    signal?.addEventListener('abort', cancel, { once: true });
    let finished = false;
    try {
      this.post({ type: 'refine', id, request }, true);
      if (signal?.aborted) cancel();
      for (;;) {
        const next = await queue.next();
        if (next.done) break;
        yield next.value;
      }
      finished = true;
    } finally {
      signal?.removeEventListener('abort', cancel);
      if (!finished && this.pending.has(id)) cancel(); // the caller stopped listening
      this.pending.delete(id);
    }
  }

  async dispose(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    for (const queue of this.pending.values()) queue.close(new Error('the refiner was shut down'));
    this.pending.clear();
    if (worker) await worker.terminate();
  }

  private post(message: ToWorker, start: boolean): void {
    if (!this.worker && !start) return; // a new worker gets the current configuration anyway
    this.ensureWorker().postMessage(message);
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = startWorker(this.options.workerFile ?? defaultWorkerFile());
    let lastError: Error | null = null;
    worker.on('message', (message: FromWorker) => this.receive(message));
    worker.on('error', (err) => (lastError = err));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return; // terminated on purpose
      this.worker = null;
      this.crashes++;
      const error = new WorkerCrashedError(
        `The refiner worker stopped (exit code ${code}${lastError ? `: ${lastError.message}` : ''}); it restarts with the next request.`,
      );
      for (const queue of this.pending.values()) queue.close(error);
      this.pending.clear();
      this.options.onCrash?.(error);
    });
    this.worker = worker;
    worker.postMessage({ type: 'configure', config: this.config } satisfies ToWorker);
    if (this.adapter !== undefined) worker.postMessage({ type: 'set-adapter', adapter: this.adapter } satisfies ToWorker);
    return worker;
  }

  private receive(message: FromWorker): void {
    if (message.type === 'log') {
      this.options.onLog?.(message.message);
      return;
    }
    const queue = this.pending.get(message.id);
    if (!queue) return;
    if (message.type === 'event') queue.push(message.event);
    else if (message.type === 'error') queue.close(revive(message.error));
    else queue.close();
  }
}
