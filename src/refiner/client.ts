// The extension host's side of the refiner process: requests as async iterators of events,
// cancellation by AbortSignal, and a process that is restarted after a crash, so the next request
// works. The models run in a child process, not a thread of the extension host, because a thread
// inside a native ONNX Runtime call can be neither interrupted nor terminated, and its
// out-of-memory takes the whole host down; a process can always be killed. So Cancel is real: a
// request that has not ended within cancelGraceMs of its abort has its process killed, and ends
// as cancelled. The process's memory is watched and capped the same way.
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defaultMemoryLimitBytes, forkEntry, formatGiB, killProcess, residentBytes, watchMemory, type ProcessEntry } from '../base/child-process';
import { EventQueue } from './event-queue';
import { memoryExceededMessage } from './limits';
import type { RefineEvent, RefineRequest } from './loop';
import { requestPreset } from './preset';
import type { FromWorker, ToWorker, WorkerConfig } from './refiner-protocol';
import { RefinerInputError, type GeneratedText } from './refiner-settings';

/** The refiner process died on its own (not killed by the client); it restarts with the next request. */
export class WorkerCrashedError extends Error {
  override name = 'WorkerCrashedError';
}

export interface RefinerClientOptions {
  /** The process's script; by default out/refiner-worker.js beside the bundle, or refiner-worker.ts (run through tsx) from source. */
  workerFile?: string;
  onLog?: (message: string) => void;
  /** Told about every crash (the process restarts on the next request). */
  onCrash?: (error: WorkerCrashedError) => void;
  /** The process is killed above this resident memory. Default: defaultMemoryLimitBytes(). */
  memoryLimitBytes?: number;
  /** A cancelled request that has not ended this long after its abort has its process killed. Default 2 s. */
  cancelGraceMs?: number;
}

/**
 * How the refiner process's Node and C library are set up, for its peak memory (measured in
 * BENCHMARKS.md, "llama.cpp peer"):
 * - a 1 MB young generation (V8's default grows to 16 MB semi-spaces): the process allocates few JS
 *   objects per token, and the young generation's committed pages count in its resident memory;
 *   its extra scavenges took 7 ms per generation of 64 tokens after a 1,000-token prompt;
 * - glibc's mmap threshold fixed at 1 MB: by default it rises after the first large free (up to
 *   32 MB), and from then on ONNX Runtime's load-time scratch and its prefill tensors come from the
 *   main heap, which fragments and does not shrink; above the threshold each block is a mapping of
 *   its own, returned to the system when freed. Lower, each pass's logits array (608 KB on a 152k
 *   vocabulary) would be mapped and faulted in anew every token.
 */
export const REFINER_PROCESS_RUNTIME: { execArgv: string[]; env: Record<string, string> } = {
  execArgv: ['--max-semi-space-size=1'],
  env: { MALLOC_MMAP_THRESHOLD_: String(2 ** 20) },
};

function entryFor(file: string | undefined): ProcessEntry {
  const runtime = (execArgv: string[]): Omit<ProcessEntry, 'path'> => ({ execArgv: [...REFINER_PROCESS_RUNTIME.execArgv, ...execArgv], env: REFINER_PROCESS_RUNTIME.env });
  if (file) return { path: file, ...runtime(file.endsWith('.ts') ? ['--import', 'tsx'] : []) };
  if (__filename.endsWith('.ts')) return { path: join(__dirname, 'refiner-worker.ts'), ...runtime(['--import', 'tsx']) };
  const bundled = join(__dirname, 'refiner-worker.js');
  if (!existsSync(bundled)) throw new Error(`the refiner worker bundle is missing: ${bundled} (build it from src/refiner/refiner-worker.ts)`);
  return { path: bundled, ...runtime([]) };
}

/** Errors thrown in the process come back with their kind, so input errors stay user-facing. */
function revive(error: { name: string; message: string }): Error {
  const err = error.name === 'RefinerInputError' ? new RefinerInputError(error.message) : new Error(error.message);
  if (error.name !== 'RefinerInputError') err.name = error.name;
  return err;
}

interface Pending {
  queue: EventQueue<RefineEvent>;
  request: RefineRequest;
  /** What the stream has carried so far, to end it as cancelled if the process has to be killed. */
  draft?: string;
  rounds: GeneratedText[];
  killTimer?: NodeJS.Timeout;
}

export class RefinerClient {
  private child: ChildProcess | null = null;
  private pending = new Map<number, Pending>();
  private nextId = 1;
  private adapter: string | null | undefined;
  private crashes = 0;
  private stopWatch: (() => void) | null = null;
  /** Processes killed and not yet gone. */
  private exits = new Set<Promise<void>>();
  private readonly memoryLimit: number;
  private readonly cancelGraceMs: number;

  constructor(private config: WorkerConfig, private readonly options: RefinerClientOptions = {}) {
    this.memoryLimit = options.memoryLimitBytes ?? defaultMemoryLimitBytes();
    this.cancelGraceMs = options.cancelGraceMs ?? 2000;
  }

  /** How many times the process died on its own; each death was followed by a restart on demand. */
  get crashCount(): number {
    return this.crashes;
  }

  /** The running process's id, if one runs (for status displays and tests). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The refiner process's resident memory now (0 when none runs; null when it cannot be read). */
  async residentBytes(): Promise<number | null> {
    const pid = this.child?.pid;
    return pid === undefined ? 0 : residentBytes(pid);
  }

  configure(config: WorkerConfig): void {
    this.config = config;
    this.adapter = undefined;
    this.post({ type: 'configure', config: this.withLimit(config) }, false);
  }

  setFollowerAdapter(adapter: string | null): void {
    this.adapter = adapter;
    this.post({ type: 'set-adapter', adapter }, false);
  }

  unloadModels(): void {
    this.post({ type: 'unload' }, false);
  }

  async *refine(request: RefineRequest, signal?: AbortSignal): AsyncGenerator<RefineEvent> {
    const id = this.nextId++;
    const pending: Pending = { queue: new EventQueue<RefineEvent>(), request, rounds: [] };
    this.pending.set(id, pending);
    const cancel = () => {
      if (this.pending.get(id) !== pending || pending.killTimer) return;
      this.post({ type: 'cancel', id }, false);
      pending.killTimer = setTimeout(() => this.killStuck(id), this.cancelGraceMs);
    };
    signal?.addEventListener('abort', cancel, { once: true });
    let finished = false;
    try {
      this.post({ type: 'refine', id, request }, true);
      this.watch();
      if (signal?.aborted) cancel();
      for (;;) {
        const next = await pending.queue.next();
        if (next.done) break;
        yield next.value;
      }
      finished = true;
    } finally {
      signal?.removeEventListener('abort', cancel);
      if (!finished) cancel(); // the caller stopped listening: the request still ends (or is killed)
    }
  }

  /** Kills the process; resolves once it (and any killed before) has exited. The next request starts a new one. */
  async dispose(): Promise<void> {
    this.kill(new Error('the refiner was shut down'));
    await Promise.all(this.exits);
  }

  private withLimit(config: WorkerConfig): WorkerConfig {
    return { ...config, host: { memoryLimitBytes: this.memoryLimit, ...config.host } };
  }

  /** Ends every request in flight with `reason` and kills the process (SIGKILL: even inside a native call). */
  private kill(reason: Error): void {
    for (const [id, pending] of this.pending) this.finish(id, pending, reason);
    const child = this.child;
    this.child = null;
    this.watch();
    if (!child) return;
    const exit = killProcess(child);
    this.exits.add(exit);
    void exit.then(() => this.exits.delete(exit));
  }

  /** A cancelled request that did not end in time: it ends as cancelled, and its process goes. */
  private killStuck(id: number): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.options.onLog?.(`a cancelled refinement did not stop within ${this.cancelGraceMs} ms; killing the refiner process (it restarts with the next request)`);
    const draft = pending.draft ?? pending.request.draft ?? '';
    pending.queue.push({ type: 'done', preset: requestPreset(pending.request), draft, rounds: pending.rounds, stoppedBy: 'cancelled' });
    this.finish(id, pending);
    this.kill(new Error('the refiner was restarted to stop a cancelled refinement that did not end; run this one again'));
  }

  private finish(id: number, pending: Pending, error?: Error): void {
    clearTimeout(pending.killTimer);
    pending.queue.close(error);
    if (this.pending.get(id) === pending) this.pending.delete(id);
    this.watch();
  }

  /** Memory is watched while requests are in flight (the process only grows while it works). */
  private watch(): void {
    const wanted = this.child !== null && this.pending.size > 0;
    if (wanted && !this.stopWatch) {
      this.stopWatch = watchMemory(this.child!, this.memoryLimit, (bytes) => {
        this.stopWatch = null;
        this.options.onLog?.(`the refiner process reached ${formatGiB(bytes)}, over its limit of ${formatGiB(this.memoryLimit)}; killing it`);
        this.kill(new RefinerInputError(memoryExceededMessage(this.memoryLimit)));
      });
    } else if (!wanted && this.stopWatch) {
      this.stopWatch();
      this.stopWatch = null;
    }
  }

  private post(message: ToWorker, start: boolean): void {
    if (!this.child && !start) return; // a new process gets the current configuration anyway
    const child = this.ensureProcess();
    // A send to a process that just died fails in the callback; its exit reports the crash.
    if (child.connected) child.send(message, () => undefined);
  }

  private ensureProcess(): ChildProcess {
    if (this.child) return this.child;
    const child = forkEntry(entryFor(this.options.workerFile), { stdio: 'pipe', serialization: 'advanced' });
    let stderrTail = '';
    const lines = (stream: NodeJS.ReadableStream | null, keep: boolean) => {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        if (keep) stderrTail = (stderrTail + chunk).slice(-8192);
        for (const line of chunk.split('\n')) if (line.trim()) this.options.onLog?.(line);
      });
    };
    lines(child.stdout, false);
    lines(child.stderr, true);
    child.on('message', (message: FromWorker) => this.receive(message));
    // 'close' comes after stderr has been read to its end, so the crash message can quote it.
    child.on('close', (code, signal) => gone(code, signal));
    child.on('error', (err) => {
      stderrTail += `\nError: ${err.message}`;
      if (child.pid === undefined) gone(null, null); // it never started: no 'close' follows
    });
    const gone = (code: number | null, signal: NodeJS.Signals | null) => {
      if (this.child !== child) return; // killed on purpose, or already reported
      this.child = null;
      this.crashes++;
      const cause = [...stderrTail.matchAll(/^\s*(?:\w*Error|FATAL ERROR)\b:? ?(.*)$/gm)].at(-1)?.[0].trim();
      const error = new WorkerCrashedError(
        `The refiner process stopped (${signal ? `signal ${signal}` : `exit code ${code}`}${cause ? `: ${cause}` : ''}); it restarts with the next request.`,
      );
      for (const [id, pending] of this.pending) this.finish(id, pending, error);
      this.options.onCrash?.(error);
    };
    this.child = child;
    child.send({ type: 'configure', config: this.withLimit(this.config) } satisfies ToWorker);
    if (this.adapter !== undefined) child.send({ type: 'set-adapter', adapter: this.adapter } satisfies ToWorker);
    return child;
  }

  private receive(message: FromWorker): void {
    if (message.type === 'log') {
      this.options.onLog?.(message.message);
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return;
    if (message.type === 'event') {
      const event = message.event;
      if (event.type === 'round-end' && event.result.role === 'leader') pending.draft = event.result.text;
      else if (event.type === 'round-end') pending.rounds.push(event.result);
      pending.queue.push(event);
    } else if (message.type === 'error') pending.queue.close(revive(message.error));
    else this.finish(message.id, pending);
  }
}
