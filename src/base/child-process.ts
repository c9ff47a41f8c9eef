// Worker processes (the refiner, training): forked from the running program with a typed IPC
// channel, killed for sure, and measured from outside. A process, unlike a worker thread, can be
// killed in the middle of a native call, and its out-of-memory never takes the parent down.
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { totalmem } from 'node:os';

/** A script to fork, and the Node options it needs (tsx for a .ts entry run from source). */
export interface ProcessEntry {
  path: string;
  execArgv: string[];
  /** Variables added to the inherited environment (e.g. the C library's allocator settings). */
  env?: Record<string, string>;
}

export interface ForkOptions {
  /** 'pipe' to read the process's output (e.g. to quote its last error); default 'inherit'. */
  stdio?: 'inherit' | 'pipe';
  /** 'advanced' (structured clone, as between threads) keeps -Infinity and NaN, which JSON makes null. Default 'json'. */
  serialization?: 'json' | 'advanced';
}

export function forkEntry(entry: ProcessEntry, options: ForkOptions = {}): ChildProcess {
  const stdio = options.stdio ?? 'inherit';
  return fork(entry.path, [], {
    execArgv: entry.execArgv,
    // In VS Code desktop process.execPath is Electron: this makes it a plain Node.
    env: { ...process.env, ...entry.env, ELECTRON_RUN_AS_NODE: '1' },
    stdio: ['ignore', stdio, stdio, 'ipc'],
    serialization: options.serialization ?? 'json',
  });
}

export function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * SIGKILL, and resolves once the process has exited. SIGKILL cannot be caught or delayed by a
 * native call, so this is quick; `boundMs` only guards against an exit event that never comes.
 */
export function killProcess(child: ChildProcess, boundMs = 10_000): Promise<void> {
  if (exited(child)) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, boundMs);
    timer.unref();
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGKILL');
  });
}

/**
 * Resident memory of another process, in bytes, or null if it cannot be read: /proc on Linux
 * (cheap enough to poll often), `ps` on macOS and the BSDs, `tasklist` on Windows.
 */
export async function residentBytes(pid: number): Promise<number | null> {
  try {
    if (process.platform === 'linux') {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
      return kb ? Number(kb[1]) * 1024 : null;
    }
    if (process.platform === 'win32') {
      const out = await run('tasklist', ['/FI', `PID eq ${pid}`, '/FO', 'CSV', '/NH']);
      const kb = /"([\d.,\s\u00a0]+) K"\s*$/m.exec(out);
      return kb ? Number(kb[1].replace(/\D/g, '')) * 1024 : null;
    }
    const kb = Number((await run('ps', ['-o', 'rss=', '-p', String(pid)])).trim());
    return Number.isFinite(kb) && kb > 0 ? kb * 1024 : null;
  } catch {
    return null; // exited meanwhile
  }
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile(file, args, { timeout: 5000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))));
}

/** How often watchMemory polls: /proc is a file read; elsewhere each poll starts a process. */
const POLL_MS = process.platform === 'linux' ? 200 : 1000;
const GIB = 2 ** 30;

/**
 * A worker process's memory cap when nothing else is set: half the machine's memory (or of a
 * container's limit), at most 8 GiB. Past it the refiner's process (RefinerClient) and a training
 * run's (startTraining) are killed; the refiner also refuses, before its prefill, a round whose
 * estimated peak does not fit below it (checkMemoryBudget).
 */
export function defaultMemoryLimitBytes(): number {
  const constrained = process.constrainedMemory?.() ?? 0; // cgroup limit; 0 when there is none
  const total = constrained > 0 ? Math.min(constrained, totalmem()) : totalmem();
  return Math.min(total / 2, 8 * GIB);
}

export function formatGiB(bytes: number): string {
  return `${(bytes / GIB).toFixed(1)} GB`;
}

/**
 * Calls `onOver` (once) when the process's resident memory passes `limitBytes`. The caller stops
 * the watch (the returned function) when the process is idle or gone; polls never overlap.
 */
export function watchMemory(child: ChildProcess, limitBytes: number, onOver: (bytes: number) => void): () => void {
  let stopped = false;
  let busy = false;
  const timer = setInterval(() => {
    if (busy || stopped || child.pid === undefined) return;
    busy = true;
    void residentBytes(child.pid).then((bytes) => {
      busy = false;
      if (stopped || bytes === null || bytes <= limitBytes) return;
      stop();
      onOver(bytes);
    });
  }, POLL_MS);
  timer.unref();
  const stop = () => {
    stopped = true;
    clearInterval(timer);
  };
  return stop;
}
