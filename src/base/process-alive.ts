// Whether a process id names a live process, for lock files that record their owner's pid: a lock
// whose owner is dead is left over from a crash and may be taken over.
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
