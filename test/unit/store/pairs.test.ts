// The pairs each decision implies, with the behaviour log-probs training needs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pairsOf, sessionPairs, type PreferencePair } from '../../../src/store/pairs';
import { round, session } from './fixtures/records';

const names = (pairs: PreferencePair[]) => pairs.map((p) => `${p.chosen.origin}${p.chosen.round ?? ''}>${p.rejected.origin}${p.rejected.round ?? ''}`);
const threeRounds = [round('one'), round('two'), round('three')];

test('accepting round k prefers it to the draft and to every other round', () => {
  const pairs = sessionPairs(session({ rounds: threeRounds, decision: { kind: 'accepted', round: 1, decidedAt: '2026-03-02T00:00:00.000Z' } }));
  assert.deepEqual(names(pairs), ['round1>draft', 'round1>round0', 'round1>round2']);
  const [overDraft, overRound] = pairs;
  assert.equal(overDraft.chosen.text, 'two');
  assert.equal(overDraft.rejected.text, session().draft.text);
  assert.deepEqual(overDraft.chosen.logprobs, threeRounds[1].logprobs);
  assert.deepEqual(overDraft.chosen.tokenIds, threeRounds[1].tokenIds);
  assert.equal(overDraft.chosen.generation?.adapterVersion, 'a1');
  // A user's own draft was not sampled: no behaviour log-probs on that side.
  assert.equal(overDraft.rejected.logprobs, null);
  assert.deepEqual(overRound.rejected.logprobs, threeRounds[0].logprobs);
  assert.ok(pairs.every((p) => p.hasBehaviourLogprobs && p.at === '2026-03-02T00:00:00.000Z'));
  assert.equal(overDraft.id, 's1/r1>draft');
  assert.deepEqual(overDraft.prompt, [{ role: 'user', content: 'Make it shorter.\n\nA paragraph about tea.' }]);
});

test('rejecting all prefers the draft to every round', () => {
  const pairs = sessionPairs(session({ rounds: threeRounds, decision: { kind: 'rejected', decidedAt: '2026-03-02T00:00:00.000Z' } }));
  assert.deepEqual(names(pairs), ['draft>round0', 'draft>round1', 'draft>round2']);
});

test('a Leader draft carries its own behaviour log-probs', () => {
  const generation = { modelId: 'leader', adapterVersion: null, sampling: round('x').sampling, logprobs: [-0.5, -0.5], tokenIds: [3, 4] };
  const [pair] = sessionPairs(session({ draft: { text: 'drafted', source: 'leader', generation }, rounds: [round('r')], decision: { kind: 'rejected', decidedAt: '2026-03-02T00:00:00.000Z' } }));
  assert.deepEqual(pair.chosen.logprobs, [-0.5, -0.5]);
  assert.deepEqual(pair.chosen.tokenIds, [3, 4]);
});

test('accepted then edited adds "final over round k", without log-probs on the final side', () => {
  const pairs = sessionPairs(session({ rounds: threeRounds, decision: { kind: 'accepted-edited', round: 2, finalText: 'three!', decidedAt: '2026-03-02T00:00:00.000Z' } }));
  assert.deepEqual(names(pairs), ['round2>draft', 'round2>round0', 'round2>round1', 'final>round2']);
  const final = pairs[3];
  assert.equal(final.chosen.text, 'three!');
  assert.equal(final.chosen.logprobs, null);
  assert.equal(final.hasBehaviourLogprobs, true, 'the rejected side (round 2) was sampled');
});

test('identical texts make no pair, and pending sessions none at all', () => {
  const same = session({ rounds: [round('same'), round('same'), round('other')], decision: { kind: 'accepted', round: 0, decidedAt: '2026-03-02T00:00:00.000Z' } });
  assert.deepEqual(names(sessionPairs(same)), ['round0>draft', 'round0>round2']);
  assert.deepEqual(sessionPairs(session({ decision: { kind: 'pending' } })), []);
  const unedited = session({ decision: { kind: 'accepted-edited', round: 0, finalText: 'Many people like tea.', decidedAt: '2026-03-02T00:00:00.000Z' } });
  assert.deepEqual(names(sessionPairs(unedited)), ['round0>draft', 'round0>round1']);
});

test('imported pairs are marked as having no behaviour log-probs', () => {
  const [pair] = pairsOf({ kind: 'imported-pair', schemaVersion: 3, id: 'imp', workspace: 'imported', importedAt: '2026-03-02T00:00:00.000Z', source: 'hh.jsonl', prompt: 'Q', chosen: 'good', rejected: 'bad' });
  assert.equal(pair.hasBehaviourLogprobs, false);
  assert.equal(pair.origin, 'imported');
  assert.equal(pair.chosen.logprobs, null);
  assert.equal(pair.rejected.logprobs, null);
});
