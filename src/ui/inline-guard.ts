// The review's Harper guard (issue 21): lints a proposal has that the text it refines did not have
// (a new misspelling, broken agreement) are shown on the round and flag it before Accept. Harper's
// wasm takes seconds to load and blocks the thread that loads it, so it runs in a process of its own
// at low priority (inline-guard-worker.ts), started once per session on the first review; the review
// never waits for it: it shows at once, and the guard's marks appear when Harper is ready (`onDidLoad`).
import type { ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import * as vscode from 'vscode';
import { forkEntry, killProcess } from '../base/child-process';
import type { PlacedLint } from './hunks';
import type { GuardReply, GuardRequest } from './inline-guard-worker';

type Lints = Extract<GuardReply, { lints: unknown }>['lints'];

export class HarperGuard implements vscode.Disposable {
  private worker: ChildProcess | undefined;
  private isReady = false;
  private failed = false;
  private nextId = 1;
  private readonly pending = new Map<number, (lints: Lints) => void>();
  private readonly cache = new Map<string, Promise<PlacedLint[]>>();
  private readonly loaded = new vscode.EventEmitter<void>();
  /** Fires once, when Harper is ready. */
  readonly onDidLoad = this.loaded.event;

  /** `workerFile`: out/harper-worker.js (inline-guard-worker.ts), where Harper runs, outside the extension host. */
  constructor(private readonly log: vscode.LogOutputChannel, private readonly workerFile: string) {}

  get ready(): boolean {
    return this.isReady;
  }

  /** Starts Harper's process, once; a failure is logged and leaves the review without the guard. */
  start(): void {
    if (this.worker || this.failed) return;
    const started = Date.now();
    const worker = forkEntry({ path: this.workerFile, execArgv: [] });
    this.worker = worker;
    // A background check: the refiner and the editor come first.
    try {
      if (worker.pid !== undefined) setPriority(worker.pid, 10);
    } catch (error) {
      this.log.info(`Harper's process keeps its priority: ${error instanceof Error ? error.message : String(error)}`);
    }
    // It must never keep the extension host alive.
    worker.unref();
    worker.channel?.unref();
    const fail = (why: string) => {
      if (this.failed) return;
      this.failed = true;
      this.isReady = false;
      this.log.warn(`Harper could not be loaded; reviews go on without its guard: ${why}`);
      for (const resolve of this.pending.values()) resolve([]);
      this.pending.clear();
      void killProcess(worker);
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
    worker.on('exit', (code, signal) => {
      if (!this.failed && this.worker === worker) fail(`its process exited (${signal ?? `code ${code}`})`);
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
        worker.send({ id, input, output } satisfies GuardRequest);
      }).then((found) => found.map((l) => ({ start: l.start, end: l.end, message: `${l.kind}: ${l.message}${l.replacement ? ` (Harper suggests "${l.replacement}")` : ''}` })));
      if (this.cache.size > 200) this.cache.clear();
      this.cache.set(key, lints);
    }
    return lints;
  }

  dispose(): void {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) void killProcess(worker);
    for (const resolve of this.pending.values()) resolve([]);
    this.pending.clear();
    this.loaded.dispose();
  }
}
