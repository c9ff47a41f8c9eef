// The review's Harper guard (issue 21): lints a proposal has that the text it refines did not have
// (a new misspelling, broken agreement) are shown on the round and flag it before Accept. Harper's
// wasm takes seconds to load, so it loads once per session in the background, on the first
// review; the review never waits for it: it shows at once, and the guard's marks appear when
// Harper is ready (`onDidLoad`).
import * as vscode from 'vscode';
import type { PlacedLint } from './hunks';

type Harper = import('../models/harper').Harper;

export class HarperGuard implements vscode.Disposable {
  private harper: Harper | undefined;
  private loading: Promise<void> | undefined;
  private readonly cache = new Map<string, Promise<PlacedLint[]>>();
  private readonly loaded = new vscode.EventEmitter<void>();
  /** Fires once, when Harper is ready. */
  readonly onDidLoad = this.loaded.event;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  get ready(): boolean {
    return this.harper !== undefined;
  }

  /** Starts loading Harper, once; a failure is logged and leaves the review without the guard. */
  start(): void {
    this.loading ??= (async () => {
      const started = Date.now();
      try {
        const { loadHarper } = await import('../models/harper');
        this.harper = await loadHarper();
        this.log.info(`Harper (the review's grammar guard) loaded in ${Date.now() - started} ms`);
        this.loaded.fire();
      } catch (error) {
        this.log.warn(`Harper could not be loaded; reviews go on without its guard: ${error instanceof Error ? error.message : String(error)}`);
      }
    })();
  }

  /** Resolves when Harper is loaded or failed to load (tests). */
  whenSettled(): Promise<void> {
    this.start();
    return this.loading ?? Promise.resolve();
  }

  /**
   * The lints `output` has that `input` did not (offsets in `output`); undefined until Harper is
   * ready. Cached per pair of texts: the review asks again on every redraw.
   */
  newLints(input: string, output: string): Promise<PlacedLint[]> | undefined {
    const harper = this.harper;
    if (!harper) return undefined;
    const key = `${input.length}:${input}\u0000${output}`;
    let lints = this.cache.get(key);
    if (!lints) {
      lints = import('../models/harper').then(({ newLints }) => newLints(harper, input, output)).then(
        (found) => found.map((l) => ({ start: l.start, end: l.end, message: `${l.kind}: ${l.message}${l.replacement ? ` (Harper suggests "${l.replacement}")` : ''}` })),
        (error: unknown) => {
          this.log.warn(`Harper failed on a proposal: ${error instanceof Error ? error.message : String(error)}`);
          return [];
        },
      );
      if (this.cache.size > 200) this.cache.clear();
      this.cache.set(key, lints);
    }
    return lints;
  }

  dispose(): void {
    this.loaded.dispose();
  }
}
