// Validation of records and the migration from every earlier schema version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../../src/store/logger';
import { upgradeRecord } from '../../../src/store/migrate';
import { SCHEMA_VERSION, type SessionRecord } from '../../../src/store/schema';
import { PreferenceStore } from '../../../src/store/store';
import { SchemaError, validateRecord } from '../../../src/store/validate';
import { DEFAULT_FOLLOWER_INSTRUCTION } from '../../../src/models/prompts';
import { frameLine } from '../../../src/store/log';
import { round, session, tempDir } from './fixtures/records';

const v1Lines = readFileSync(join(__dirname, 'fixtures', 'v1-records.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

test('v1 records migrate to the current layout, field by field', () => {
  const [accepted, rejected, edited, pending] = v1Lines.map((v) => upgradeRecord(v) as SessionRecord);
  assert.equal(SCHEMA_VERSION, 3);
  // v1's preset names no document kind: the migration takes the one the refiner picks for the draft.
  const x = { preset: 'code-comment', instruction: 'Add a doc comment.', context: 'function add(a, b) { return a + b }', followerInstruction: DEFAULT_FOLLOWER_INSTRUCTION };
  assert.deepEqual(accepted, {
    kind: 'session', schemaVersion: 3, id: 'v1-accepted', workspace: 'ws-old',
    createdAt: '2026-01-01T10:00:00.000Z', updatedAt: '2026-01-01T10:00:00.000Z',
    languageId: 'typescript', preset: 'concise', context: 'function add(a, b) { return a + b }', instruction: 'Add a doc comment.',
    draft: { text: '// adds\nfunction add(a, b) { return a + b }', source: 'leader' },
    rounds: [
      { text: '/** Adds two numbers. */\nfunction add(a, b) { return a + b }', modelId: 'qwen-0.5b', adapterVersion: null,
        sampling: { temperature: 0.9, topP: 0.95, topK: 0, repetitionPenalty: 1, seed: null, maxNewTokens: null },
        logprobs: [-0.5, -0.25, -1.5], timings: { startedAt: '2026-01-01T10:00:00.000Z', totalMs: 210 },
        prompt: { ...x, refined: '// adds\nfunction add(a, b) { return a + b }' } },
      { text: '/** Returns a + b. */\nfunction add(a, b) { return a + b }', modelId: 'qwen-0.5b', adapterVersion: null,
        sampling: { temperature: 0.9, topP: 0.95, topK: 0, repetitionPenalty: 1, seed: null, maxNewTokens: null },
        logprobs: [-0.75, -2], timings: { startedAt: '2026-01-01T10:00:00.000Z', totalMs: 180 },
        prompt: { ...x, refined: '/** Adds two numbers. */\nfunction add(a, b) { return a + b }' } },
    ],
    decision: { kind: 'accepted', round: 1, decidedAt: '2026-01-01T10:00:00.000Z' },
  });
  assert.deepEqual(rejected.decision, { kind: 'rejected', decidedAt: '2026-01-01T11:00:00.000Z' });
  assert.equal(rejected.draft.source, 'user');
  assert.deepEqual(edited.decision, { kind: 'accepted-edited', round: 0, finalText: 'It rains.', decidedAt: '2026-01-01T12:00:00.000Z' });
  assert.deepEqual(pending.decision, { kind: 'pending' });
  assert.deepEqual(pending.rounds, []);
});

test('a v1 finalText equal to the accepted round is a plain accept', () => {
  const r = upgradeRecord({ ...v1Lines[2], finalText: 'It rains a lot.' }) as SessionRecord;
  assert.deepEqual(r.decision, { kind: 'accepted', round: 0, decidedAt: '2026-01-01T12:00:00.000Z' });
});

test('v2 sessions get each round\'s prompt reconstructed: round k refines round k-1 under the stored preset', () => {
  const { prompt: _, ...bare } = round('x');
  const v2 = {
    ...session({ id: 'v2', preset: 'commit-message', instruction: 'Fix it.', context: 'ctx', draft: { text: 'd0', source: 'leader', generation: { ...bare, prompt: undefined } } }),
    schemaVersion: 2, rounds: [{ ...bare, text: 'r1' }, { ...bare, text: 'r2' }],
  };
  const r = upgradeRecord(v2) as SessionRecord;
  const x = { preset: 'commit-message', instruction: 'Fix it.', context: 'ctx' };
  assert.deepEqual(r.rounds.map((k) => k.prompt), [
    { ...x, followerInstruction: DEFAULT_FOLLOWER_INSTRUCTION, refined: 'd0' },
    { ...x, followerInstruction: DEFAULT_FOLLOWER_INSTRUCTION, refined: 'r1' },
  ]);
  assert.deepEqual(r.draft.generation?.prompt, x);
  assert.equal(r.schemaVersion, 3);
  assert.throws(() => validateRecord({ ...r, rounds: [{ ...r.rounds[0], prompt: { ...x, refined: 'd0' } }] }), /rounds\[0\]\.prompt needs both followerInstruction and refined/);
  assert.throws(() => validateRecord({ ...r, rounds: [{ ...r.rounds[0], prompt: { ...r.rounds[0].prompt, preset: 'poem' } }] }), /rounds\[0\]\.prompt\.preset must be one of prose/);
  const undone = { kind: 'undone', round: 1, acceptedAt: '2026-03-01T10:00:05.000Z', decidedAt: '2026-03-01T10:00:09.000Z' } as const;
  assert.deepEqual(validateRecord({ ...r, decision: undone }).kind, 'session');
  assert.throws(() => validateRecord({ ...r, decision: { ...undone, acceptedAt: 'soon' } }), /decision\.acceptedAt must be an ISO 8601 time/);
});

test('a store file with v1 lines opens, and compaction rewrites them as v3', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'old.jsonl');
  writeFileSync(file, Buffer.concat([...v1Lines.map(frameLine), frameLine(session({ id: 'v2-one' }))]));
  const store = await PreferenceStore.open(file, { logger: createLogger({ level: 'silent' }) });
  assert.deepEqual(store.warnings, []);
  const before = await store.records();
  assert.deepEqual(before.map((r) => r.id), ['v1-accepted', 'v1-rejected', 'v1-edited', 'v1-pending', 'v2-one']);
  await store.compact();
  const onDisk = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l.slice(9)));
  assert.deepEqual(onDisk.map((r) => r.schemaVersion), [3, 3, 3, 3, 3]);
  const reopened = await PreferenceStore.open(file, { logger: createLogger({ level: 'silent' }) });
  assert.deepEqual(await reopened.records(), before);
});

test('a newer or malformed record is refused with a clear message', () => {
  assert.throws(() => upgradeRecord({ ...session(), schemaVersion: 4 }), /newer SLHF Refine \(schema 4.*update the extension/);
  assert.throws(() => upgradeRecord({ id: 'x' }), /no valid schemaVersion/);
  // A malformed old record is a schema problem (skipped with a warning), never a crash.
  assert.throws(() => upgradeRecord({ ...v1Lines[0], refinements: [null] }), (err: Error) => err instanceof SchemaError && /version 1 record could not be migrated/.test(err.message));
  assert.throws(() => upgradeRecord({ ...v1Lines[0], refinements: [{ text: 1 }] }), SchemaError);
});

test('validation names the offending field', () => {
  const cases: [unknown, RegExp][] = [
    [{ ...session(), rounds: [round('a', { logprobs: [-1, 0.5] })] }, /rounds\[0\]\.logprobs\[1\] must be a finite log-probability/],
    [{ ...session(), rounds: [round('a b', { tokenIds: [1] })], decision: { kind: 'pending' } }, /rounds\[0\] has 1 tokenIds but 2 logprobs/],
    [{ ...session(), decision: { kind: 'accepted', round: 2, decidedAt: '2026-03-01T10:00:05.000Z' } }, /decision\.round is 2 but the session has 2 rounds/],
    [{ ...session(), decision: { kind: 'maybe' } }, /decision\.kind must be one of/],
    [{ ...session(), draft: { text: 'x', source: 'robot' } }, /draft\.source must be 'user' or 'leader'/],
    [{ ...session(), createdAt: 'yesterday' }, /record\.createdAt must be an ISO 8601 time/],
    [{ ...session(), rounds: [{ ...round('a'), sampling: { ...round('a').sampling, topK: 1.5 } }] }, /rounds\[0\]\.sampling\.topK must be an integer/],
    [{ ...session(), id: '' }, /record\.id must not be empty/],
    [{ kind: 'imported-pair', schemaVersion: 3, id: 'p', workspace: 'w', importedAt: '2026-03-01T10:00:05.000Z', source: 'f', prompt: [{ role: 'user' }], chosen: 'a', rejected: 'b' }, /prompt\[0\] must be a chat message/],
  ];
  for (const [value, message] of cases) assert.throws(() => validateRecord(value), (err: Error) => err instanceof SchemaError && message.test(err.message), String(message));
  assert.equal(validateRecord(session()).id, 's1');
});
