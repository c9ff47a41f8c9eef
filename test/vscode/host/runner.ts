// A small test runner for inside the VS Code extension host, where node:test cannot report to our
// process. Tests run one after another; each result goes to the console and, when the harness sets
// SLHF_HOST_TEST_REPORT, to that file. A failure makes run() reject, which VS Code turns into
// exit code 1 for the harness.
import { appendFileSync } from 'node:fs';

interface HostTest {
  readonly name: string;
  readonly fn: () => unknown;
  readonly timeoutMs?: number;
}

const tests: HostTest[] = [];

export function test(name: string, fn: () => unknown, options: { timeoutMs?: number } = {}): void {
  tests.push({ name, fn, timeoutMs: options.timeoutMs });
}

function report(line: string): void {
  console.log(line);
  const file = process.env.SLHF_HOST_TEST_REPORT;
  if (file) appendFileSync(file, `${line}\n`);
}

function withTimeout<T>(promise: Promise<T>, ms: number, name: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${name}`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function runAll(timeoutMs = 30_000): Promise<void> {
  let failed = 0;
  for (const [index, { name, fn, timeoutMs: own }] of tests.entries()) {
    try {
      await withTimeout(Promise.resolve().then(fn), own ?? timeoutMs, name);
      report(`ok ${index + 1} - ${name}`);
    } catch (error) {
      failed++;
      const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
      report(`not ok ${index + 1} - ${name}\n  ${detail.split('\n').join('\n  ')}`);
    }
  }
  report(`# in-host tests: ${tests.length - failed} passed, ${failed} failed, ${tests.length} total`);
  if (failed > 0) throw new Error(`${failed} in-host test(s) failed`);
}
