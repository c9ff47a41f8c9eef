// The behaviour log-probs the trainer's importance weights divide by come from two samplers: the
// refiner's decoding loop (recorded with each decision) and online training's Sampler. Both must be
// log softmax(logits / T) at the chosen token, exactly what the trainer's log-prob graph recomputes
// for the same model, or every importance weight is off. One model, one temperature, both paths.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { seededRandom } from '../../../src/base/seeded-random';
import { initLoraAdapter, type LoraConfig } from '../../../src/models/lora';
import { ModelHost } from '../../../src/refiner/host';
import { refine } from '../../../src/refiner/loop';
import { Policy } from '../../../src/training/policy';
import { Sampler } from '../../../src/training/sampler';
import { zeroAdapter } from '../../../src/training/trainer';
import { collect, results } from '../refiner/fixtures';
import { tinyFixture, type TinyFixture } from './fixtures';

const lora: LoraConfig = { rank: 4, alpha: 8, dropout: 0, targets: ['q', 'v', 'o', 'up', 'down'] };
const T = 0.8;
let f: TinyFixture;
let host: ModelHost;
let policy: Policy;
let sampler: Sampler;

before(async () => {
  f = await tinyFixture();
  host = new ModelHost({ cacheDir: join(f.dir, 'cache'), idleUnloadMs: 0 });
  host.configure({ follower: { spec: f.modelDir } });
  policy = await Policy.create(f.config, await f.weights(), { lora, intraOpThreads: 1 });
  sampler = await Sampler.create(f.config, await f.weights(), lora, 1);
});
after(async () => {
  await host.unloadAll();
  await policy.release();
  await sampler.release();
  f.cleanup();
});

test('the refiner and the online sampler record the log-probs the trainer recomputes at their temperature', async () => {
  // Top-p and the repetition penalty shape the draw, not the record: the refiner's has them on.
  const settings = { seed: 5, maxNewTokens: 8, temperature: T, topP: 0.9, topK: 0, repetitionPenalty: 1.2 };
  const [refined] = results(await collect(refine(host, { draft: 'The quick brown fox.\n', rounds: 1, languageId: 'markdown', settings })));
  const prompt = refined.prompt.tokenIds!;
  const base = policy.adapterFeeds(zeroAdapter(initLoraAdapter(f.config, lora, 0)));
  const [sampled] = await sampler.sample([prompt], base, { maxNewTokens: 8, temperature: T, eos: f.config.eosTokenIds }, seededRandom(9));
  assert.ok(refined.tokenIds.length > 0 && sampled.ids.length > 0);
  const [forRefiner, forSampler] = await policy.logprobs([
    { ids: [...prompt, ...refined.tokenIds], from: prompt.length, temperature: T },
    { ids: [...prompt, ...sampled.ids], from: prompt.length, temperature: T },
  ], base);
  const close = (got: number[], want: number[], who: string) => {
    assert.equal(got.length, want.length, who);
    got.forEach((lp, i) => assert.ok(Math.abs(lp - want[i]) < 1e-4, `${who}, token ${i}: recorded ${lp}, trainer ${want[i]}`));
  };
  close(refined.logprobs, forRefiner, 'refiner');
  close(sampled.behaviour, forSampler, 'online sampler');
});
