// `slhf export --format stackelberg-prompts`: the contexts for the authors' StackelbergGDA trainer,
// one row per distinct Leader prompt with the columns it reads (prompt_id, prompt as chat messages)
// and the drafts seen here. Its Follower prompt (prompt + the draft as the assistant's turn + the
// follower instruction) must be the one the refiner used here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../../src/cli';
import { promptMessages } from '../../../src/models/prompts';
import { createLogger } from '../../../src/store/logger';
import type { StoreRecord } from '../../../src/store/schema';
import { PreferenceStore } from '../../../src/store/store';
import { round, session, tempDir } from './fixtures/records';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), stdin: async () => '' });
  return { code, out, err };
}

const parts = (context: string, refined: string, followerInstruction = 'Improve it.') => ({ preset: 'prose' as const, instruction: 'Make it shorter.', context, followerInstruction, refined });
const draft = (text: string) => ({ text, source: 'user' as const });
const accepted = { kind: 'accepted' as const, round: 0, decidedAt: '2026-03-01T10:00:05.000Z' };

async function exportPrompts(t: { after: (fn: () => void) => void }, records: StoreRecord[]) {
  const dir = tempDir(t);
  const store = join(dir, 'store');
  await (await PreferenceStore.open(store, { logger: createLogger({ level: 'silent' }) })).putMany(records);
  const file = join(dir, 'prompts.jsonl');
  const run = await cli('export', '--store', store, '--format', 'stackelberg-prompts', '--out', file);
  return { run, rows: readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) };
}

test('one row per Leader prompt, with the drafts seen for it; the trainer\'s Follower prompt is the one used here', async (t) => {
  const first = session({ id: 'a', draft: draft('Tea is nice.'), rounds: [round('Tea is good.', { prompt: parts('About tea.', 'Tea is nice.') })], decision: accepted });
  const { run, rows } = await exportPrompts(t, [
    first,
    session({ id: 'b', draft: draft('Tea, yes.'), rounds: [round('Tea.', { prompt: parts('About tea.', 'Tea, yes.') })], decision: { kind: 'rejected', decidedAt: '2026-03-02T10:00:05.000Z' } }),
    session({ id: 'c', draft: draft('Tea is nice.'), rounds: [round('Nice tea.', { prompt: parts('About tea.', 'Tea is nice.') })], decision: accepted }),
    session({ id: 'd', draft: draft('Coffee.'), rounds: [round('Coffee!', { prompt: parts('About coffee.', 'Coffee.') })], decision: { kind: 'pending' } }),
    { kind: 'imported-pair', schemaVersion: 3, id: 'imp-1', workspace: 'imported', importedAt: '2026-02-01T00:00:00.000Z', source: 'hh.jsonl', prompt: 'hi', chosen: 'hello', rejected: 'go away' },
  ]);
  assert.deepEqual([run.code, run.err], [0, '']);
  assert.equal(run.out.split('\n')[1], 'follower instruction used here (pass it as --follower_prompt): "Improve it."');
  assert.deepEqual(rows.map((r) => [r.prompt.at(-1).content, r.drafts]), [
    ['Make it shorter.\n\nContext:\nAbout tea.', ['Tea is nice.', 'Tea, yes.']],
    ['Make it shorter.\n\nContext:\nAbout coffee.', ['Coffee.']],
    ['hi', []],
  ]);
  assert.ok(rows.every((r) => /^[0-9a-f]{16}$/.test(r.prompt_id)) && new Set(rows.map((r) => r.prompt_id)).size === 3);
  assert.equal(rows[0].prompt[0].role, 'system');
  // What StackelbergGDA builds for the Follower from a row and a draft, and what the refiner built here.
  const followerPrompt = [...rows[0].prompt, { role: 'assistant', content: 'Tea is nice.' }, { role: 'user', content: 'Improve it.' }];
  assert.deepEqual(followerPrompt, promptMessages(first.rounds[0].prompt));
});

test('sessions that used different follower instructions are named on stderr', async (t) => {
  const { run, rows } = await exportPrompts(t, [
    session({ id: 'a', draft: draft('Tea.'), rounds: [round('Tea!', { prompt: parts('About tea.', 'Tea.') })], decision: accepted }),
    session({ id: 'b', draft: draft('Tea.'), rounds: [round('Tea?', { prompt: parts('About tea.', 'Tea.', 'Fix typos only.') })], decision: accepted }),
  ]);
  assert.equal(run.code, 0);
  assert.equal(rows.length, 1);
  assert.match(run.err, /used 2 follower instructions; the trainer takes one \(--follower_prompt\): "Improve it.", "Fix typos only."/);
});
