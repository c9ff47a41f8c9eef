// The review guard's Harper process (src/ui/inline-guard-worker.ts), forked as the extension forks it:
// it says when it is ready, answers each request with the lints the proposal adds (offsets in the
// proposal), none for a proposal that adds none, and exits when its parent disconnects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { GuardReply } from '../../../src/ui/inline-guard-worker';

test('the guard process lints what a proposal adds, and ends with its parent', { timeout: 5 * 60_000 }, async () => {
  const child = fork(join(import.meta.dirname, '../../../src/ui/inline-guard-worker.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const replies: GuardReply[] = [];
  const waiters: (() => void)[] = [];
  child.on('message', (reply: GuardReply) => {
    replies.push(reply);
    waiters.splice(0).forEach((wake) => wake());
  });
  const next = async (): Promise<GuardReply> => {
    while (replies.length === 0) await new Promise<void>((wake) => waiters.push(wake));
    return replies.shift()!;
  };
  try {
    assert.deepEqual(await next(), { ready: true });
    const original = 'Our new release fixes many bugs.';
    const damaged = 'Our relese fixs many bugs.';
    child.send({ id: 1, input: original, output: damaged });
    child.send({ id: 2, input: 'We recieved the the report.', output: 'We recieved the report.' });
    const first = await next();
    assert.ok('lints' in first && first.id === 1, JSON.stringify(first));
    assert.deepEqual(first.lints.map((l) => damaged.slice(l.start, l.end)), ['relese', 'fixs']);
    // A fix that keeps an old misspelling adds nothing: that lint was in the input.
    const second = await next();
    assert.deepEqual('lints' in second && [second.id, second.lints], [2, []]);
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.disconnect();
    assert.equal(await exited, 0, 'the process ends when its parent disconnects');
  }
});
