// Child processes the harness starts run in their own process group, so stopping one stops every
// process it spawned. Groups still running when this process exits are killed on the way out.
import { spawn, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

interface LiveGroup {
  stop(graceMs?: number): Promise<void>;
  afterStop?: () => void;
}
/** Leader pid -> group, for every group not yet stopped. */
const liveGroups = new Map<number, LiveGroup>();

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** Signals the group led by `leader` and, separately, each of `others` (they may have left the group). */
function signalAll(leader: number, others: number[], signal: NodeJS.Signals): void {
  signalPid(-leader, signal);
  for (const pid of others) signalPid(pid, signal);
}

process.on('exit', () => {
  for (const [pid, group] of liveGroups) {
    signalAll(pid, descendants(pid), 'SIGKILL');
    group.afterStop?.();
  }
});
// Without a handler these signals end the process at once, skipping the 'exit' cleanup above.
// A program with its own handler (scripts/start.ts) stops its processes itself.
const signalNumbers = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
for (const signal of Object.keys(signalNumbers) as (keyof typeof signalNumbers)[]) {
  process.on(signal, () => {
    if (process.listenerCount(signal) > 1) return;
    void Promise.all([...liveGroups.values()].map((group) => group.stop(2000))).finally(() => process.exit(128 + signalNumbers[signal]));
  });
}

/** Every descendant of `pid` (Linux /proc; elsewhere the process group is all we have). */
function descendants(pid: number): number[] {
  if (process.platform !== 'linux') return [];
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // Fields after the parenthesised command name: state, ppid, ...
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // The process ended while we looked.
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

export interface GroupProcess {
  /** Resolves with the exit code (or signal name) when the leader exits. */
  readonly exited: Promise<number | string>;
  /** SIGTERM to the group and every descendant, SIGKILL after `graceMs`. Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

/** Spawns `command` as the leader of a new process group; `afterStop` runs once it is stopped (cleanup). */
export function spawnGroup(command: string, args: string[], options: SpawnOptions, afterStop?: () => void): GroupProcess {
  const child = spawn(command, args, { ...options, detached: true });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${command}`);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  let stopping: Promise<void> | undefined;
  const stop = (graceMs = 5000): Promise<void> =>
    (stopping ??= (async () => {
      // Descendants that started their own session (setsid) are not in the group: signal them too.
      const family = descendants(pid);
      signalAll(pid, family, 'SIGTERM');
      const timer = new Promise((resolve) => setTimeout(resolve, graceMs).unref());
      await Promise.race([exited, timer]);
      signalAll(pid, [...family, ...descendants(pid)], 'SIGKILL');
      liveGroups.delete(pid);
      afterStop?.();
    })());
  liveGroups.set(pid, { stop, afterStop });
  return { exited, stop };
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
