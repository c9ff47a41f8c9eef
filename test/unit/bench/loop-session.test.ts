// The closed-loop benchmark records what the product records: a session of several rounds, each
// under the prompt that produced it (round 2 refines round 1), the simulated user's decision on
// them, and the game samples SLHF trains on (trainingSamples), on a tiny fixture model.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadTokenizer, type TextTokenizer } from '../../../src/models/tokenizer';
import { ModelHost } from '../../../src/refiner/host';
import type { GeneratedText } from '../../../src/refiner/refiner-settings';
import { trainingSamples } from '../../../src/store/game-tokens';
import { decide, refineRounds, sessionRecord } from '../../../bench/loop/simulate';
import { tempRoot, tinyModel } from '../refiner/fixtures';

const { root, cleanup } = tempRoot('loop-session');
let host: ModelHost;
let tokenizer: TextTokenizer;
let endOfTurn: number;
let rounds: GeneratedText[];
const DRAFT = 'The color was gray';

before(async () => {
  const modelDir = await tinyModel(join(root, 'tiny'));
  host = new ModelHost({ cacheDir: join(root, 'cache'), idleUnloadMs: 0 });
  host.configure({ leader: null, follower: { spec: modelDir } });
  tokenizer = await loadTokenizer(modelDir);
  [endOfTurn] = tokenizer.encode('<|im_end|>', { add_special_tokens: false });
  rounds = await refineRounds(host, DRAFT, 2, 1, 3, 8);
});

after(async () => {
  await host.unloadAll();
  cleanup();
});

const samplesOf = (ideal: string, edits: boolean) => {
  const record = sessionRecord('s', { draft: DRAFT, ideal }, rounds, decide(rounds, { draft: DRAFT, ideal }, edits));
  return { record, samples: trainingSamples([record], tokenizer, { endOfTurn, leader: false, followerReference: 'standard' }) };
};

test('a decision records every round, round 2 under the prompt built from round 1', () => {
  assert.equal(rounds.length, 2);
  assert.notEqual(rounds[0].text, rounds[1].text, 'the fixture must not reach a fixed point');
  const { record } = samplesOf(rounds[1].text, false);
  assert.deepEqual(record.rounds.map((r) => r.prompt.refined), [DRAFT, rounds[0].text]);
  assert.deepEqual(record.rounds.map((r) => r.prompt.tokenIds), rounds.map((r) => r.prompt.tokenIds));
});

test('the user accepts the first round that is the text it wants: round 2 wins over round 1, under round 2\'s prompt', () => {
  const { record, samples } = samplesOf(rounds[1].text, false);
  assert.ok(record.decision.kind === 'accepted' && record.decision.round === 1);
  // (draft -> round 1) compares two texts that both lost: unscored.
  assert.deepEqual(samples.map((s) => [s.transition, s.score]), [['r1->r2', 1]]);
  assert.deepEqual(samples[0].prompt, rounds[1].prompt.tokenIds);
  assert.deepEqual(samples[0].behaviour, rounds[1].logprobs);
});

test('a rejection scores round 1 against the draft only; an edit refines the last round', () => {
  const rejected = samplesOf('something else', false);
  assert.equal(rejected.record.decision.kind, 'rejected');
  assert.deepEqual(rejected.samples.map((s) => [s.transition, s.score]), [['r0->r1', 0]]);
  assert.deepEqual(rejected.samples[0].prompt, rounds[0].prompt.tokenIds);

  const edited = samplesOf('something else', true);
  assert.equal(edited.record.decision.kind, 'accepted-edited');
  assert.deepEqual(edited.samples.map((s) => [s.transition, s.score, s.behaviour !== null]), [['r1->r2', 1, true], ['r2->edit', 1, false]]);
  assert.equal(edited.samples[1].completionText, 'something else');
});
