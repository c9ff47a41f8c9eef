// The built-in model's first pass (issue 21): Harper's fixes are round 1 of their own, recorded
// off-policy under the Follower prompt they answer, and the model's rounds follow; other models and
// harperFirstPass: false get no such round. The pass picks a case-only suggestion over Harper's first
// one, re-runs Harper on its own output, and leaves style advice alone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadHarper, type Harper } from '../../../src/models/harper';
import { defaultModelDir } from '../../../src/models/default-model';
import { ModelHost } from '../../../src/refiner/host';
import { droppedWord, guardByLints, harperFirstRound, newCapital, HARPER_MODEL_ID, harperFix } from '../../../src/refiner/harper-pass';
import type { GeneratedText } from '../../../src/refiner/refiner-settings';
import { refine, type RefineEvent } from '../../../src/refiner/loop';
import { collect, results, tempRoot, tinyModel } from './fixtures';

const { root, cleanup } = tempRoot('harper-pass');
after(cleanup);
let harper: Harper;
before(async () => {
  harper = await loadHarper();
});

test('a lower-case name takes the suggestion that only changes case, where Harper lists another first', async () => {
  const text = 'We visited paris in july.';
  assert.equal(await harper.fixFirst(text), "We visited par's in jury.");
  assert.equal(await harperFix(harper, text), 'We visited Paris in July.');
});

test('Harper runs again on its own fixes, and style advice is left alone', async () => {
  assert.equal(await harper.fixFirst('She dont like tea.'), "She don't like tea.");
  assert.equal(await harperFix(harper, 'She dont like tea.'), "She doesn't like tea.");
  const style = 'We cleaned the room and also painted it.';
  assert.notEqual(await harper.fixFirst(style), style);
  assert.equal(await harperFix(harper, style), style);
});

test('with the built-in model, round 1 is Harper\'s (no tokens: off-policy) and the model refines its text', async () => {
  const host = new ModelHost({ cacheDir: root });
  host.configure({ follower: { spec: defaultModelDir() } });
  try {
    const draft = 'i will see you on monday';
    const rounds = results(await collect(refine(host, { draft, rounds: 1, settings: { seed: 1 } })));
    assert.equal(rounds[0].modelId, HARPER_MODEL_ID);
    assert.equal(rounds[0].round, 1);
    assert.equal(rounds[0].text, 'I will see you on Monday');
    assert.deepEqual([rounds[0].tokenIds.length, rounds[0].logprobs.length], [0, 0]);
    assert.equal(rounds[0].prompt.refined, draft);
    assert.ok(rounds[0].prompt.tokenIds.length > 0);
    // --rounds 1 still gives the model its round, after Harper's (unless Harper's was a fixed point for it).
    assert.equal(rounds.length, 2);
    assert.equal(rounds[1].round, 2);
    assert.equal(rounds[1].prompt.refined, rounds[0].text);
    assert.notEqual(rounds[1].modelId, HARPER_MODEL_ID);

    const without = results(await collect(refine(host, { draft, rounds: 1, settings: { seed: 1 }, harperFirstPass: false })));
    assert.equal(without.length, 1);
    assert.notEqual(without[0].modelId, HARPER_MODEL_ID);
    // Nothing for Harper to fix: no Harper round.
    const clean = results(await collect(refine(host, { draft: 'I will see you on Monday.', rounds: 1, settings: { seed: 1 } })));
    assert.ok(clean.every((r) => r.modelId !== HARPER_MODEL_ID));
  } finally {
    await host.unloadAll();
  }
});

test('another model gets no Harper round, and is not loaded for the first pass', async () => {
  const host = new ModelHost({ cacheDir: root });
  host.configure({ follower: { spec: await tinyModel(`${root}/tiny`) } });
  // The first pass must not load (or export, for minutes) another model before the round has started.
  const use = host.use.bind(host);
  let uses = 0;
  host.use = (role, fn) => {
    uses++;
    return use(role, fn);
  };
  try {
    const rounds = results(await collect(refine(host, { draft: 'i will see you on monday', rounds: 1, settings: { seed: 1, maxNewTokens: 4 } })));
    assert.equal(rounds.length, 1);
    assert.notEqual(rounds[0].modelId, HARPER_MODEL_ID);
    assert.equal(uses, 1, 'the model is used once, by its round');
  } finally {
    await host.unloadAll();
  }
});

test("Harper's setup starts before the built-in model has loaded, and the pass still fixes the text", async () => {
  const host = new ModelHost({ cacheDir: root });
  host.configure({ follower: { spec: defaultModelDir() } });
  const order: string[] = [];
  const use = host.use.bind(host);
  host.use = (role, fn) => use(role, (loaded) => {
    order.push('model loaded');
    return fn(loaded);
  });
  try {
    const draft = 'i will see you on monday';
    const pass = await harperFirstRound(host, { round: 1, prompt: { preset: 'prose', instruction: '', context: '', refined: draft }, seed: 1 }, draft, () => {
      order.push('Harper requested');
      return loadHarper();
    });
    assert.deepEqual(order, ['Harper requested', 'model loaded']);
    assert.equal(pass?.round?.text, 'I will see you on Monday');
  } finally {
    await host.unloadAll();
  }
});

test('Cancel while the built-in model and Harper load ends the request at once, with no round', async () => {
  const host = new ModelHost({ cacheDir: root });
  host.configure({ follower: { spec: defaultModelDir() } });
  try {
    const controller = new AbortController();
    const events: RefineEvent[] = [];
    // Cancel once the request has begun: the model's load (and Harper's setup, where this process
    // has not done it yet) is under way.
    setImmediate(() => controller.abort());
    for await (const event of refine(host, { draft: 'i will see you on monday', rounds: 1, settings: { seed: 1 } }, controller.signal)) events.push(event);
    assert.deepEqual(events.map((e) => e.type), ['done']);
    const done = events[0] as Extract<RefineEvent, { type: 'done' }>;
    assert.equal(done.stoppedBy, 'cancelled');
    assert.deepEqual(done.rounds, []);
    // The next request, not cancelled, gets Harper's round and the model's.
    const rounds = results(await collect(refine(host, { draft: 'i will see you on monday', rounds: 1, settings: { seed: 1 } })));
    assert.equal(rounds[0].modelId, HARPER_MODEL_ID);
    assert.equal(rounds.length, 2);
  } finally {
    await host.unloadAll();
  }
});

const modelRound = (text: string): GeneratedText => ({
  role: 'follower', round: 2, text, rawText: text, prompt: { preset: 'prose', instruction: '', context: '', text: '', tokenIds: [] },
  tokenIds: [5], logprobs: [-0.5], samplingLogprobs: [0], logprobSum: -0.5, modelId: 'm#1', adapterVersion: null,
  sampling: { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1, seed: 1, maxNewTokens: 64 },
  timings: { startedAt: new Date().toISOString(), totalMs: 1 }, stopReason: 'eos', fixedPoint: false,
});

test('the lint guard puts back a sentence the model broke and keeps the ones it fixed; the round is then off-policy', async () => {
  const input = 'Please bring an umbrella.\nIts going to rain tomorrow.';
  const guarded = await guardByLints(harper, input, modelRound("Please bring an umberlla.\nIt's going to rain tomorrow."));
  assert.equal(guarded.text, "Please bring an umbrella.\nIt's going to rain tomorrow.");
  assert.ok('linted' in guarded);
  assert.deepEqual(guarded.linted.map((l) => [l.index, l.output]), [[0, 'Please bring an umberlla.']]);
  assert.deepEqual([guarded.tokenIds.length, guarded.logprobs.length], [0, 0]);
  // Nothing new to lint: the round is the model's, tokens and all.
  const fine = modelRound("Please bring an umbrella.\nIt's going to rain tomorrow.");
  assert.equal(await guardByLints(harper, input, fine), fine);
});

test('a sentence that lost a word is put back, unless the input had a word twice in a row', async () => {
  assert.equal(droppedWord('Over several weeks we sketched new screens.', 'Over several we sketched new screens.'), true);
  assert.equal(droppedWord('We saw the the film.', 'We saw the film.'), false);
  assert.equal(droppedWord('i think so', 'I think so.'), false);
  const input = 'Over several weeks we sketched new screens.';
  assert.equal((await guardByLints(harper, input, modelRound('Over several we sketched new screens.'))).text, input);
});

test('a word the model capitalized inside a sentence puts the sentence back; "i" -> "I" and a first word do not', () => {
  assert.equal(newCapital('The team is going to discuss it.', 'The team is going to Discuss it.'), true);
  assert.equal(newCapital('Looking back, i think so.', 'Looking back, I think so.'), false);
  assert.equal(newCapital('the team met.', 'The team met.'), false);
  assert.equal(newCapital('Its going to rain.', "It's going to rain."), false);
});
