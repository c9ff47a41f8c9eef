// `slhf export` and `slhf import`, through the real CLI entry point.
//
// Equality of a round trip: `full` is lossless, so the records (and a second export, byte for byte)
// are equal. The TRL formats carry pairs only, so for them the pairs round-trip: the pairs of the
// importing store, as TRL rows, equal the rows exported, and exporting again gives the same file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../../src/cli';
import { completionText } from '../../../src/store/game';
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

const open = (path: string) => PreferenceStore.open(path, { logger: createLogger({ level: 'silent' }) });
const readRows = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

const leaderDraft = { text: 'draft by the leader', source: 'leader' as const, generation: { modelId: 'leader', adapterVersion: null, sampling: round('x').sampling, logprobs: [-1, -2], tokenIds: [5, 6] } };
const sample: StoreRecord[] = [
  session({ id: 'acc', rounds: [round('one'), round('two'), round('three')], decision: { kind: 'accepted', round: 2, decidedAt: '2026-03-01T10:00:05.000Z' } }),
  session({ id: 'rej', draft: leaderDraft, context: '', rounds: [round('worse')], decision: { kind: 'rejected', decidedAt: '2026-03-02T10:00:05.000Z' } }),
  session({ id: 'edit', rounds: [round('almost')], decision: { kind: 'accepted-edited', round: 0, finalText: 'exactly', decidedAt: '2026-03-03T10:00:05.000Z' } }),
  session({ id: 'pend', decision: { kind: 'pending' } }),
  { kind: 'imported-pair', schemaVersion: 3, id: 'imp-1', workspace: 'imported', importedAt: '2026-02-01T00:00:00.000Z', source: 'hh.jsonl',
    prompt: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }], chosen: [{ role: 'assistant', content: 'hello' }], rejected: [{ role: 'assistant', content: 'go away' }] },
];

async function sampleStore(dir: string): Promise<string> {
  const path = join(dir, 'source');
  await (await open(path)).putMany(sample);
  return path;
}

test('full: export then import is lossless', async (t) => {
  const dir = tempDir(t);
  const source = await sampleStore(dir);
  const first = join(dir, 'full.jsonl');
  assert.deepEqual(await cli('export', '--store', source, '--format', 'full', '--out', first), { code: 0, out: `exported 5 records (full) to ${first}\n`, err: '' });
  const target = join(dir, 'target');
  const imported = await cli('import', '--store', target, '--format', 'full', first);
  assert.equal(imported.code, 0, imported.err);
  assert.match(imported.out, /5 rows; 5 records added, 0 updated, 0 already present/);
  assert.deepEqual(await (await open(target)).records(), sample);
  const second = join(dir, 'full2.jsonl');
  await cli('export', '--store', target, '--format', 'full', '--out', second);
  assert.deepEqual(readFileSync(second), readFileSync(first));
  // Importing the same dump again changes nothing.
  assert.match((await cli('import', '--store', target, '--format', 'full', first)).out, /0 records added, 0 updated, 5 already present/);
});

for (const format of ['trl-paired', 'trl-unpaired'] as const) {
  test(`${format}: the pairs round-trip`, async (t) => {
    const dir = tempDir(t);
    const source = await sampleStore(dir);
    const file = join(dir, `${format}.jsonl`);
    assert.equal((await cli('export', '--store', source, '--format', format, '--out', file)).code, 0);
    const rows = readRows(file);
    const sourcePairs = await (await open(source)).pairs();
    // acc: 3 pairs, rej: 1, edit: 2, imported: 1.
    assert.equal(sourcePairs.length, 7);
    assert.equal(rows.length, format === 'trl-paired' ? 7 : 14);
    if (format === 'trl-paired') {
      // A conversational prompt takes assistant-turn completions: TRL concatenates prompt + chosen.
      const turn = (content: string) => [{ role: 'assistant', content }];
      assert.deepEqual(rows[0], { prompt: [{ role: 'user', content: 'Make it shorter.\n\nA paragraph about tea.' }], chosen: turn('three'), rejected: turn(session().draft.text) });
    } else {
      assert.deepEqual(rows.slice(0, 2).map((r) => [r.completion, r.label]), [[[{ role: 'assistant', content: 'three' }], true], [[{ role: 'assistant', content: session().draft.text }], false]]);
    }

    const target = join(dir, 'target');
    const imported = await cli('import', '--store', target, '--format', format, file);
    assert.deepEqual([imported.code, imported.err], [0, '']);
    const pairs = await (await open(target)).pairs();
    const asRows = (ps: typeof pairs) => ps.map((p) => ({ prompt: p.prompt, chosen: completionText(p.chosen.text), rejected: completionText(p.rejected.text) }));
    assert.deepEqual(asRows(pairs), asRows(sourcePairs));
    assert.ok(pairs.every((p) => p.origin === 'imported' && !p.hasBehaviourLogprobs && p.chosen.logprobs === null));
    const again = join(dir, 'again.jsonl');
    await cli('export', '--store', target, '--format', format, '--out', again);
    assert.deepEqual(readFileSync(again), readFileSync(file));
  });
}

test('trl-paired import reports unusable rows by line number and imports the rest', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'mixed.jsonl');
  const conversation = (answer: string) => [{ role: 'user', content: 'q?' }, { role: 'assistant', content: answer }];
  writeFileSync(file, [
    JSON.stringify({ prompt: 'p1', chosen: 'good', rejected: 'bad' }),
    '{not json',
    JSON.stringify({ prompt: 'p3', chosen: 'only chosen' }),
    '',
    JSON.stringify({ prompt: 'p5', chosen: 'same', rejected: 'same' }),
    JSON.stringify({ prompt: [{ role: 'user', content: 'p6' }], chosen: 'good', rejected: 'bad' }),
    JSON.stringify({ chosen: conversation('yes'), rejected: conversation('no') }),
    JSON.stringify({ chosen: 'a', rejected: 'b' }),
    JSON.stringify(['an', 'array']),
    JSON.stringify({ prompt: 42, chosen: 'a', rejected: 'b' }),
  ].join('\n') + '\n');
  const store = join(dir, 'store');
  const run = await cli('import', '--store', store, '--format', 'trl-paired', file);
  assert.equal(run.code, 0);
  assert.match(run.out, /9 rows; 3 records added/);
  assert.equal(run.err, [
    '6 row(s) could not be used:',
    '  line 2: not valid JSON',
    '  line 3: needs "chosen" and "rejected"',
    '  line 5: chosen and rejected are the same text, so they express no preference',
    '  line 8: has no "prompt", and chosen/rejected are not conversations that share a prompt',
    '  line 9: must be a JSON object',
    '  line 10: prompt must be a string or a list of chat messages',
    '',
  ].join('\n'));
  const pairs = await (await open(store)).pairs();
  // The implicit prompt of line 7 is the shared opening of the two conversations.
  assert.deepEqual(pairs[2].prompt, [{ role: 'user', content: 'q?' }]);
  assert.deepEqual(pairs[2].chosen.text, [{ role: 'assistant', content: 'yes' }]);
});

test('trl-unpaired import pairs rows by prompt and opposite label; leftovers are reported', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'kto.jsonl');
  writeFileSync(file, [
    { prompt: 'a', completion: 'good a', label: true },
    { prompt: 'b', completion: 'bad b', label: false },
    { prompt: 'a', completion: 'bad a', label: false },
    { prompt: 'c', completion: 'lonely', label: true },
    { prompt: 'b', completion: 'good b', label: true },
    { prompt: 'd', completion: 'x', label: 'yes' },
  ].map((r) => JSON.stringify(r)).join('\n'));
  const store = join(dir, 'store');
  const run = await cli('import', '--store', store, '--format', 'trl-unpaired', file);
  assert.equal(run.code, 0);
  assert.equal(run.err, '2 row(s) could not be used:\n  line 4: no row with label false and the same prompt to pair it with\n  line 6: "label" must be true or false\n');
  const pairs = (await (await open(store)).pairs()).map((p) => [p.prompt, p.chosen.text, p.rejected.text]);
  assert.deepEqual(pairs, [['a', 'good a', 'bad a'], ['b', 'good b', 'bad b']]);
});

test('full import skips records it cannot read and names their lines', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'dump.jsonl');
  writeFileSync(file, [
    JSON.stringify({ format: 'slhf-store-export', schemaVersion: 2 }),
    JSON.stringify(session({ id: 'fine' })),
    JSON.stringify({ ...session({ id: 'future' }), schemaVersion: 7 }),
    JSON.stringify({ ...session({ id: 'broken' }), rounds: 'none' }),
  ].join('\n'));
  const store = join(dir, 'store');
  const run = await cli('import', '--store', store, '--format', 'full', file);
  assert.equal(run.code, 0);
  assert.match(run.err, /line 3: record was written by a newer SLHF Refine \(schema 7/);
  assert.match(run.err, /line 4: rounds must be an array/);
  assert.deepEqual((await (await open(store)).records()).map((r) => r.id), ['fine']);
});

test('command-line mistakes get clear messages', async (t) => {
  const dir = tempDir(t);
  const bad = await cli('export', '--store', dir, '--format', 'csv', '--out', join(dir, 'x'));
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--format must be one of trl-paired\|trl-unpaired\|full\|stackelberg-prompts, got "csv"/);
  assert.match((await cli('export', '--format', 'full', '--out', 'x')).err, /--store is required/);
  assert.match((await cli('import', '--store', dir, '--format', 'full')).err, /expected exactly one FILE/);
  const missing = await cli('import', '--store', dir, '--format', 'full', join(dir, 'nope.jsonl'));
  assert.equal(missing.code, 1);
  assert.match(missing.err, /Could not read the import file .*nope\.jsonl: it does not exist \(ENOENT\)/);
  const nothing = join(dir, 'garbage.jsonl');
  writeFileSync(nothing, 'garbage\n');
  assert.equal((await cli('import', '--store', dir, '--format', 'trl-paired', nothing)).code, 1, 'nothing usable is a failure');
});

test('store-stats prints the statistics; store-delete-all asks for --yes, then empties the store', async (t) => {
  const dir = tempDir(t);
  const source = await sampleStore(dir);
  const stats = await cli('store-stats', '--store', source);
  assert.equal(stats.code, 0);
  assert.deepEqual(JSON.parse(stats.out).pairs, { total: 7, withBehaviourLogprobs: 6, withoutBehaviourLogprobs: 1, imported: 1 });
  const refused = await cli('store-delete-all', '--store', source);
  assert.equal(refused.code, 2);
  assert.match(refused.err, /pass --yes to confirm/);
  assert.equal((await (await open(source)).records()).length, 5);
  assert.equal((await cli('store-delete-all', '--store', source, '--yes')).out, `deleted 5 records from ${join(source, 'slhf-store.jsonl')}\n`);
  assert.deepEqual(await (await open(source)).records(), []);
});
