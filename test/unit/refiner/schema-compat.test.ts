// What the refiner records fits what the store keeps: GeneratedText is a FollowerRound (checked by
// the type checker) and a session built from a real run passes the store's validation.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ModelHost } from '../../../src/refiner/host';
import { refine } from '../../../src/refiner/loop';
import type { GeneratedText } from '../../../src/refiner/refiner-settings';
import { SCHEMA_VERSION, type FollowerRound, type GenerationInfo, type SessionRecord } from '../../../src/store/schema';
import { validateRecord } from '../../../src/store/validate';
import { collect, results, tempRoot, tinyModel } from './fixtures';

const { root, cleanup } = tempRoot('schema');
after(cleanup);

const asRound = (r: GeneratedText): FollowerRound => r;
const asInfo = (r: GeneratedText): GenerationInfo => r;

test('a Leader draft and Follower rounds make a valid store session', async () => {
  const host = new ModelHost({ cacheDir: join(root, 'cache') });
  host.configure({ follower: { spec: await tinyModel(join(root, 'tiny')) } });
  const events = await collect(refine(host, { leaderDraft: true, instruction: 'Write a line.', rounds: 2, settings: { seed: 2, maxNewTokens: 6, temperature: 0.9 } }));
  await host.unloadAll();
  const [draft, ...rounds] = results(events);
  const now = new Date().toISOString();
  const record: SessionRecord = {
    kind: 'session', schemaVersion: SCHEMA_VERSION, id: 'session-1', workspace: 'w', createdAt: now, updatedAt: now,
    languageId: 'markdown', preset: 'prose', context: '', instruction: 'Write a line.',
    draft: { text: draft.text, source: 'leader', generation: asInfo(draft) },
    rounds: rounds.map(asRound),
    decision: { kind: 'accepted', round: 1, decidedAt: now },
  };
  // Through JSON, as the store writes it.
  const stored = validateRecord(JSON.parse(JSON.stringify(record)));
  assert.equal(stored.kind, 'session');
  assert.deepEqual((stored as SessionRecord).rounds.map((r) => r.logprobs), rounds.map((r) => r.logprobs));
});
