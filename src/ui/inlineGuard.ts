// The review's Harper guard (issue 21): lints a proposal has that the text it refines did not have
// (a new misspelling, broken agreement) are shown on the round and flag it before Accept. Harper's
// wasm takes seconds to load and blocks the thread that loads it, so it runs in a worker thread
// (inlineGuardWorker.ts), started once per session on the first review; the review never waits for
// it: it shows at once, and the guard's marks appear when Harper is ready (`onDidLoad`).
import { Worker } from 'node:worker_threads';
import * as vscode from 'vscode';
import type { PlacedLint } from './hunks';
import type { GuardReply, GuardRequest } from './inlineGuardWorker';

type Lints = Extract<GuardReply, { lints: unknown }>['lints'];

export class HarperGuard implements vscode.Disposable {
  private worker: Worker | undefined;
  private isReady = false;
  private failed = false;
  private nextId = 1;
  private readonly pending = new Map<number, (lints: Lints) => void>();
  private readonly cache = new Map<string, Promise<PlacedLint[]>>();
  private readonly loaded = new vscode.EventEmitter<void>();
  /** Fires once, when Harper is ready. */
  readonly onDidLoad = this.loaded.event;

  /** `workerFile`: out/harper-worker.js (inlineGuardWorker.ts), where Harper runs off the extension host's thread. */
  constructor(private readonly log: vscode.LogOutputChannel, private readonly workerFile: string) {}

  get ready(): boolean {
    return this.isReady;
  }

  /** Starts Harper's worker, once; a failure is logged and leaves the review without the guard. */
  start(): void {
    if (this.worker || this.failed) return;
    const started = Date.now();
    const worker = new Worker(this.workerFile);
    // It must never keep the extension host alive.
    worker.unref();
    this.worker = worker;
    const fail = (why: string) => {
      if (this.failed) return;
      this.failed = true;
      this.isReady = false;
      this.log.warn(`Harper could not be loaded; reviews go on without its guard: ${why}`);
      for (const resolve of this.pending.values()) resolve([]);
      this.pending.clear();
      void worker.terminate();
    };
    worker.on('message', (reply: GuardReply) => {
      if ('ready' in reply) {
        this.isReady = true;
        this.log.info(`Harper (the review's grammar guard) loaded in ${Date.now() - started} ms`);
        this.loaded.fire();
      } else if ('loadError' in reply) {
        fail(reply.loadError);
      } else {
        const resolve = this.pending.get(reply.id);
        this.pending.delete(reply.id);
        if ('error' in reply) this.log.warn(`Harper failed on a proposal: ${reply.error}`);
        resolve?.('lints' in reply ? reply.lints : []);
      }
    });
    worker.on('error', (error) => fail(error.message));
    worker.on('exit', (code) => {
      if (!this.failed && code !== 0) fail(`its worker exited with code ${code}`);
    });
  }

  /**
   * The lints `output` has that `input` did not (offsets in `output`); undefined until Harper is
   * ready. Cached per pair of texts: the review asks again on every redraw.
   */
  newLints(input: string, output: string): Promise<PlacedLint[]> | undefined {
    const worker = this.worker;
    if (!this.isReady || !worker) return undefined;
    const key = `${input.length}:${input}\u0000${output}`;
    let lints = this.cache.get(key);
    if (!lints) {
      const id = this.nextId++;
      lints = new Promise<Lints>((resolve) => {
        this.pending.set(id, resolve);
        worker.postMessage({ id, input, output } satisfies GuardRequest);
      }).then((found) => found.map((l) => ({ start: l.start, end: l.end, message: `${l.kind}: ${l.message}${l.replacement ? ` (Harper suggests "${l.replacement}")` : ''}` })));
      if (this.cache.size > 200) this.cache.clear();
      this.cache.set(key, lints);
    }
    return lints;
  }

  dispose(): void {
    void this.worker?.terminate();
    this.worker = undefined;
    for (const resolve of this.pending.values()) resolve([]);
    this.pending.clear();
    this.loaded.dispose();
  }
}
