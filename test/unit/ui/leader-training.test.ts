// Whether a run trains the Leader (slhf.training.leader and the models), and whether the Leader
// drafts with the active version's adapter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeLeaderPlan, leaderAdapterDir, leaderPlan, leaderSharesFollowerBase } from '../../../src/ui/leader-training';

const shared = { leader: '', follower: '/models/qwen' };
const same = { leader: '/models/qwen', follower: '/models/qwen' };
const different = { leader: '/models/llama', follower: '/models/qwen' };

test('the Leader shares the Follower\'s base model when it is unset or the same SPEC', () => {
  assert.equal(leaderSharesFollowerBase(shared), true);
  assert.equal(leaderSharesFollowerBase(same), true);
  assert.equal(leaderSharesFollowerBase(different), false);
});

test('the setting trains the Leader only where it shares the Follower\'s base model', () => {
  assert.equal(leaderPlan(true, shared), 'shared');
  assert.equal(leaderPlan(true, same), 'shared');
  assert.equal(leaderPlan(true, different), 'different-model');
  assert.equal(leaderPlan(false, shared), 'off');
  for (const plan of ['shared', 'off', 'different-model'] as const) assert.ok(describeLeaderPlan(plan).length > 20);
  assert.match(describeLeaderPlan('different-model'), /frozen/);
});

test('the Leader drafts with the active adapter only when that version trained the Leader', () => {
  const trained = { dir: '/store/follower/adapters/v0002', meta: { settings: { trainLeader: true } }, separateLeaderDir: null };
  const followerOnly = { dir: '/store/follower/adapters/v0001', meta: { settings: { trainLeader: false } }, separateLeaderDir: null };
  const separate = { dir: '/v3', meta: { settings: { trainLeader: true, separateAdapters: true } }, separateLeaderDir: '/v3/leader' };
  assert.equal(leaderAdapterDir(separate, shared), '/v3/leader', 'a separately trained Leader drafts with its own adapter');
  assert.equal(leaderAdapterDir(trained, shared), trained.dir);
  assert.equal(leaderAdapterDir(trained, same), trained.dir);
  assert.equal(leaderAdapterDir(trained, different), null, 'another Leader model cannot take the Follower\'s adapter');
  assert.equal(leaderAdapterDir(followerOnly, shared), null);
  assert.equal(leaderAdapterDir({ dir: 'x', meta: { settings: {} }, separateLeaderDir: null }, shared), null, 'versions from before the setting trained the Follower only');
  assert.equal(leaderAdapterDir(null, shared), null, 'the base model is active');
});
