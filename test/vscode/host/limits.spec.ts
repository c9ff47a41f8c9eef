// Bounded work in a real VS Code (issue 18; docs/limits.md): a 20,000-character selection refines
// (whole, or in pieces when over the model's budget) with the refiner process and the extension host
// in bounded memory, Cancel in every phase
// (export, load, tokenization and prefill, decode) brings the editor back to idle, and the next
// refinement works. The times from Cancel to idle are written to the report, not asserted: they
// depend on the machine's load (the client kills a refiner that has not stopped 2 s after Cancel).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { StreamEvent } from '../../../src/ui/refine-flow';
import type { CommandOutcome } from '../../../src/ui/commands';
import { api, closeAllEditors, editorWith, extensionId, run, setSetting, storedSession } from './helpers';
import { phase, test } from './runner';

const GIB = 2 ** 30;
/** The extension host's resident memory stays below this while it refines 20,000 characters (docs/limits.md). */
const HOST_RSS_BOUND = 1.5 * GIB;
/** The refiner process's peak (VmHWM) for the same selection, as for `slhf refine` (docs/limits.md). */
const REFINER_PEAK_BOUND = 2.5 * GIB;

/** A line in the report (the runner's file) and the console. */
function note(line: string): void {
  console.log(`# ${line}`);
  const file = process.env.SLHF_HOST_TEST_REPORT;
  if (file) appendFileSync(file, `# ${line}\n`);
}

/** 20,000 characters of prose in paragraphs, with blank lines of different shapes between them. */
function longText(): string {
  const paragraph = 'All work and no play makes a dull text. '.repeat(10).trim();
  const gaps = ['\n\n', '\n  \n', '\n\n\n'];
  let text = '';
  for (let i = 0; text.length < 20_000; i++) text += paragraph + gaps[i % gaps.length];
  return `${text.slice(0, 19_999).trimEnd()}.`;
}

/** The peak resident memory (VmHWM) of this extension host's refiner process, if it runs. */
function refinerPeakBytes(): number | null {
  for (const task of readdirSync('/proc/self/task')) {
    const children = readFileSync(`/proc/self/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    for (const pid of children) {
      try {
        if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('refiner-worker')) continue;
        const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
        if (kb) return Number(kb) * 1024;
      } catch {
        // gone meanwhile
      }
    }
  }
  return null;
}

/** Samples the extension host's resident memory every 50 ms until stopped; returns the highest. */
function sampleHostMemory(): () => number {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  return () => {
    clearInterval(timer);
    return Math.max(peak, process.memoryUsage().rss);
  };
}

const mb = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MB`;

test('a 20,000-character selection refines (whole or in pieces) with the refiner and the extension host in bounded memory', async () => {
  const slhf = await api();
  const text = longText();
  await setSetting('slhf.refine.rounds', 1);
  try {
    const editor = await editorWith(`${text}\n`, text);
    const pieces: number[] = [];
    const listening = slhf.onDidStream((event) => {
      if (event.type === 'round-end' && 'pieces' in event.result) pieces.push((event.result as { pieces: unknown[] }).pieces.length);
    });
    const stop = sampleHostMemory();
    const t0 = Date.now();
    phase('refining 20,000 characters');
    const outcome = await run('slhf.refineSelection').finally(() => listening.dispose());
    const hostPeak = stop();
    const refinerPeak = refinerPeakBytes();
    note(`20,000 characters: ${outcome.ok ? (pieces.length ? `refined in ${pieces.join(', ')} pieces` : 'refined whole') : outcome.message} in ${Date.now() - t0} ms; extension host peak ${mb(hostPeak)} (bound ${mb(HOST_RSS_BOUND)}); refiner process peak ${refinerPeak === null ? 'not found' : mb(refinerPeak)} (bound ${mb(REFINER_PEAK_BOUND)})`);
    assert.equal(outcome.ok, true, outcome.message);
    const session = await storedSession(outcome.sessionId);
    assert.equal(session.draft.text, text);
    // One round, or as many as a workspace setting in force asks for (the untrusted-workspace run sets 3 there).
    assert.equal(session.rounds.length, vscode.workspace.getConfiguration('slhf').get<number>('refine.rounds'));
    assert.ok(hostPeak < HOST_RSS_BOUND, `extension host peak ${mb(hostPeak)}`);
    assert.ok(refinerPeak !== null && refinerPeak < REFINER_PEAK_BOUND, `refiner process peak ${refinerPeak === null ? 'not found' : mb(refinerPeak)}`);
    assert.equal((await run('slhf.rejectRefinement')).ok, true);
    assert.equal(editor.document.getText(), `${text}\n`);
  } finally {
    await setSetting('slhf.refine.rounds', undefined);
    await closeAllEditors();
  }
}, { timeoutMs: 240_000 });

/**
 * Refines `selected` in a new document and cancels at the first event `when` accepts; resolves
 * with the outcome and the time from Cancel until the flow was idle again.
 */
async function cancelAt(when: (event: StreamEvent) => boolean, text: string, selected: string): Promise<{ outcome: CommandOutcome; ms: number }> {
  const slhf = await api();
  await editorWith(text, selected);
  let cancelledAt = 0;
  const listening = slhf.onDidStream((event) => {
    if (!cancelledAt && when(event)) {
      cancelledAt = Date.now();
      void run('slhf.cancelRefinement');
    }
  });
  const outcome = await run('slhf.refineSelection').finally(() => listening.dispose());
  const ms = Date.now() - cancelledAt;
  assert.ok(cancelledAt > 0, `the refinement ended before the moment to cancel: ${outcome.message}`);
  assert.equal(outcome.cancelled, true, outcome.message);
  // Idle: nothing is left to cancel, and a new refinement is not refused as "already running".
  assert.equal((await run('slhf.cancelRefinement')).ok, false, 'nothing left to cancel');
  await closeAllEditors();
  return { outcome, ms };
}

async function refinesAndRejects(what: string): Promise<void> {
  await editorWith('teh quick brown fox\n', 'teh quick brown fox');
  const outcome = await run('slhf.refineSelection');
  assert.equal(outcome.ok, true, `${what}: ${outcome.message}`);
  assert.equal((await run('slhf.rejectRefinement')).ok, true);
  await closeAllEditors();
}

test('Cancel during the export, the load, the tokenization and prefill of 20,000 characters, and decoding returns to idle; the next refinement works', async () => {
  const follower = vscode.workspace.getConfiguration().inspect<string>('slhf.follower.model')?.globalValue;
  assert.ok(follower, 'the tests configure a Follower in the user settings');
  const maxNewTokens = vscode.workspace.getConfiguration().inspect<number>('slhf.refine.maxNewTokens')?.globalValue;
  const short = 'Short text to refine.';
  // The refiner exports and loads the model before its first event: Cancel as the request is sent.
  const sent = (event: StreamEvent) => event.type === 'begin';
  const startOf = (event: StreamEvent) => event.type === 'round-start';
  // A model this process has never exported: its first request exports it, then loads it.
  const other = mkdtempSync(join(tmpdir(), 'slhf-cancel-export-'));
  const cli = join(vscode.extensions.getExtension(extensionId)!.extensionPath, 'out', 'cli.js');
  const made = spawnSync(process.execPath, [cli, 'make-tiny-model', '--arch', 'qwen2', '--tokenizer', 'bytes', '--out', join(other, 'model'), '--layers', '4', '--hidden', '256', '--heads', '4', '--kv-heads', '2', '--intermediate', '512', '--seed', '7'], {
    encoding: 'utf8', env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
  });
  assert.equal(made.status, 0, made.stderr);
  try {
    phase('cancel during the export');
    await setSetting('slhf.follower.model', join(other, 'model'));
    note(`export: idle ${(await cancelAt(sent, `${short}\n`, short)).ms} ms after Cancel`);
    phase('refining after the cancelled export');
    await refinesAndRejects('after Cancel during the export');

    phase('cancel during the load');
    // Back to the first model: the refiner is configured anew and loads it.
    await setSetting('slhf.follower.model', follower);
    note(`load: idle ${(await cancelAt(sent, `${short}\n`, short)).ms} ms after Cancel`);
    phase('refining after the cancelled load');
    await refinesAndRejects('after Cancel during the load');

    phase('cancel during the tokenization and prefill');
    const text = longText();
    note(`tokenization and prefill of 20,000 characters: idle ${(await cancelAt(startOf, `${text}\n`, text)).ms} ms after Cancel`);

    phase('cancel during decoding');
    await setSetting('slhf.refine.maxNewTokens', 4000);
    note(`decoding: idle ${(await cancelAt((event) => event.type === 'chunk', `${short}\n`, short)).ms} ms after Cancel`);
    await setSetting('slhf.refine.maxNewTokens', maxNewTokens);

    phase('refining after the cancels');
    await refinesAndRejects('after the cancels');
  } finally {
    await setSetting('slhf.follower.model', follower);
    await setSetting('slhf.refine.maxNewTokens', maxNewTokens);
    if (existsSync(other)) rmSync(other, { recursive: true, force: true });
  }
}, { timeoutMs: 240_000 });
