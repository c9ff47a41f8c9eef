// A model with broken weights (NaN or infinite logits) is reported as a model problem at the first
// step (issue 18), instead of decoding token 0 (NUL text) that later fails as a misleading store error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseToken, ModelOutputError } from '../../../src/models/token-choice';
import { seededRandom } from '../../../src/base/seeded-random';

const greedy = { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1 };
const sampling = { temperature: 0.7, topP: 0.9, topK: 50, repetitionPenalty: 1.1 };
const broken = (e: unknown) => e instanceof ModelOutputError && /the model produced non-finite logits: its weights are broken/.test((e as Error).message);

test('NaN or +Infinity logits are refused as broken weights, greedy and sampling alike', () => {
  for (const bad of [NaN, Infinity]) {
    for (const params of [greedy, sampling]) {
      const logits = Float32Array.from([1, 2, bad, 0.5]);
      assert.throws(() => chooseToken(logits, [1], params, seededRandom(1)), broken, `${bad} ${params.temperature}`);
    }
    assert.throws(() => chooseToken(new Float32Array(8).fill(bad), [], greedy, seededRandom(1)), broken);
  }
  // All -Infinity: no token has any probability; also a broken model.
  assert.throws(() => chooseToken(new Float32Array(4).fill(-Infinity), [], sampling, seededRandom(1)), broken);
});

test('-Infinity for masked tokens beside finite logits is a normal distribution', () => {
  const logits = Float32Array.from([-Infinity, 3, -Infinity, 1]);
  assert.equal(chooseToken(logits, [], greedy, seededRandom(1)).token, 1);
  const choice = chooseToken(logits, [], sampling, seededRandom(2));
  assert.ok(choice.token === 1 || choice.token === 3);
  assert.ok(Number.isFinite(choice.logprob));
});

test('a model whose weights hold NaN fails its refinement with the model message, not with NUL text', async () => {
  const { join } = await import('node:path');
  const { ModelHost } = await import('../../../src/refiner/host');
  const { refine } = await import('../../../src/refiner/loop');
  const { openSafetensors } = await import('../../../src/models/safetensors');
  const { writeSafetensors } = await import('../../../src/models/safetensors-writer');
  const { collect, tempRoot, tinyModel } = await import('./fixtures');
  const { root, cleanup } = tempRoot('nan');
  const dir = await tinyModel(join(root, 'nan'));
  const reader = await openSafetensors(join(dir, 'model.safetensors'));
  const tensors = [];
  for (const name of reader.names()) {
    const data = await reader.readFloat32(name);
    if (name === 'model.norm.weight') data.fill(NaN);
    tensors.push({ name, dtype: 'F32' as const, shape: reader.info(name).shape, data });
  }
  await reader.close();
  await writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  const host = new ModelHost({ cacheDir: join(root, 'cache'), idleUnloadMs: 0 });
  host.configure({ follower: { spec: dir } });
  try {
    await assert.rejects(collect(refine(host, { draft: 'The fox.', rounds: 1, languageId: 'markdown', settings: { seed: 1, maxNewTokens: 4, temperature: 0 } })), broken);
  } finally {
    await host.unloadAll();
    cleanup();
  }
});
