// A small test runner for inside the VS Code extension host, where node:test cannot report to our
// process. Tests run one after another; each result goes to the console and, when the harness sets
// SLHF_HOST_TEST_REPORT, to that file. A failure makes run() reject, which VS Code turns into
// exit code 1 for the harness.
//
// Tests are isolated: after every test, passed, failed or timed out, the afterEach hooks stop
// whatever it started (index.ts stops refinements, training and the review), so one failure
// cannot fail the tests after it. A timed-out test says which phase it had reached (see phase()).
import { appendFileSync } from 'node:fs';

interface HostTest {
  readonly name: string;
  readonly fn: () => unknown;
  readonly timeoutMs?: number;
}

const tests: HostTest[] = [];
const afterEachHooks: (() => Promise<string | undefined>)[] = [];
const describers: (() => string)[] = [];
let currentPhase = '';

export function test(name: string, fn: () => unknown, options: { timeoutMs?: number } = {}): void {
  tests.push({ name, fn, timeoutMs: options.timeoutMs });
}

/** Runs after every test; a returned text is reported under the test (what had to be cleaned up). */
export function afterEach(hook: () => Promise<string | undefined>): void {
  afterEachHooks.push(hook);
}

/** Adds a line about the extension's state to the report of a test that times out. */
export function describeOnTimeout(describe: () => string): void {
  describers.push(describe);
}

/** Names the step the current test is in, for its timeout report. */
export function phase(name: string): void {
  currentPhase = name;
}

function report(line: string): void {
  console.log(line);
  const file = process.env.SLHF_HOST_TEST_REPORT;
  if (file) appendFileSync(file, `${line}\n`);
}

function withTimeout<T>(promise: Promise<T>, ms: number, name: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => {
    const state = [`phase: ${currentPhase || '(the test named none)'}`, ...describers.map((describe) => describe())];
    reject(new Error(`timed out after ${ms} ms: ${name}\n${state.join('\n')}`));
  }, ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function cleanUp(): Promise<string[]> {
  const notes: string[] = [];
  for (const hook of afterEachHooks) {
    try {
      const note = await withTimeout(hook(), 90_000, 'cleaning up after the test');
      if (note) notes.push(`cleaned up: ${note}`);
    } catch (error) {
      notes.push(`cleanup failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return notes;
}

export async function runAll(timeoutMs = 90_000): Promise<void> {
  let failed = 0;
  for (const [index, { name, fn, timeoutMs: own }] of tests.entries()) {
    currentPhase = '';
    let failure: unknown;
    try {
      await withTimeout(Promise.resolve().then(fn), own ?? timeoutMs, name);
    } catch (error) {
      failure = error;
    }
    const notes = await cleanUp();
    if (failure === undefined) {
      report(`ok ${index + 1} - ${name}${notes.length ? `\n  # ${notes.join('\n  # ')}` : ''}`);
    } else {
      failed++;
      const detail = failure instanceof Error ? (failure.stack ?? failure.message) : String(failure);
      report(`not ok ${index + 1} - ${name}\n  ${[...detail.split('\n'), ...notes].join('\n  ')}`);
    }
  }
  report(`# in-host tests: ${tests.length - failed} passed, ${failed} failed, ${tests.length} total`);
  if (failed > 0) throw new Error(`${failed} in-host test(s) failed`);
}
