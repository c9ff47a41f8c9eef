// `slhf train --mode online --judge harper` (issue 21): the Harper judge is a choice of --judge; it
// decodes the sampled token ids with the trained model's tokenizer, and the run records it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { main } from '../../../src/cli';
import { defaultModelDir } from '../../../src/models/default-model';
import { loadTokenizer } from '../../../src/models/tokenizer';
import { JUDGE_NAMES, loadJudge } from '../../../src/training/judges';
import { decisionRecords, tinyFixture, type TinyFixture, storeWith } from './fixtures';

let f: TinyFixture;
let storeDir: string;
before(async () => {
  f = await tinyFixture();
  storeDir = join(f.dir, 'store');
  await storeWith(storeDir, decisionRecords(40));
});
after(() => f.cleanup());

test('loadJudge("harper") decodes token ids with the model\'s tokenizer and prefers the fix', async () => {
  assert.ok(JUDGE_NAMES.includes('harper'));
  const tokenizer = await loadTokenizer(defaultModelDir());
  const ids = (s: string) => tokenizer.encode(s, { add_special_tokens: false });
  const judge = await loadJudge('harper', defaultModelDir());
  assert.equal(judge.name, 'harper');
  // p = P(y > y'): the draft with the typo loses to its fix, and wins against a new typo.
  assert.ok(await judge.prefer({ prompt: [], leader: ids('We recieved the letter.'), follower: ids('We received the letter.') }) < 0.5);
  assert.ok(await judge.prefer({ prompt: [], leader: ids('We received the letter.'), follower: ids('We recieved the letter.') }) > 0.5);
  await assert.rejects(loadJudge('kind', defaultModelDir()), /unknown judge "kind"; available: shorter, longer, harper/);
});

test('slhf train --mode online --judge harper trains against Harper and records it', async () => {
  let out = '';
  let err = '';
  const run = await main(['train', '--store', storeDir, '--follower', f.modelDir, '--out', join(f.dir, 'online'), '--mode', 'online', '--judge', 'harper',
    '--steps', '2', '--lora-r', '4', '--max-new-tokens', '6', '--batch-size', '4', '--json-progress'], { stdout: (t) => (out += t), stderr: (t) => (err += t), stdin: async () => '' });
  assert.equal(run, 0, err);
  const messages = out.trim().split('\n').map((l) => JSON.parse(l));
  const done = messages.at(-1);
  assert.equal(done.type, 'done');
  assert.equal(done.meta.settings.judge, 'harper');
  const rates = messages.filter((m) => m.type === 'winrate').map((m) => m.value);
  assert.equal(rates.length, 2);
  assert.ok(rates.every((r) => r >= 0 && r <= 1));
});
