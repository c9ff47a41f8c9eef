// Full-parameter supervised training (the default refiner's warm start): the gradient of every
// kind of weight (embedding, norm, projection, bias) matches a central finite difference of the
// loss, and training from a random model learns a small set of examples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FullSftGraph, fullSftLearningRate, trainFullSft, type FullSftProgress } from '../../../lab/full-sft';
import type { SftExample } from '../../../lab/sft';
import { tinyFixture } from '../training/fixtures';

const bytes = (text: string) => [...text].map((c) => c.charCodeAt(0));
const PAIRS: [string, string][] = [['teh cat', 'the cat.'], ['a dgo', 'A dog.'], ['so so', 'So.'], ['yes', 'Yes.']];
const examples: SftExample[] = PAIRS.map(([x, y]) => ({ prompt: bytes(`${x}>`), target: bytes(y) }));

test('full-parameter gradients match finite differences of the loss for every kind of weight', async () => {
  const f = await tinyFixture();
  const weights = await f.weights();
  const graph = await FullSftGraph.create(f.config, 1);
  try {
    const { grads } = await graph.lossAndGradients(weights, examples);
    const names = ['model.embed_tokens.weight', 'model.layers.0.input_layernorm.weight', 'model.layers.0.self_attn.q_proj.weight', 'model.layers.0.self_attn.k_proj.bias', 'model.layers.0.mlp.down_proj.weight', 'model.norm.weight'];
    assert.deepEqual(names.filter((n) => !grads.has(n)), []);
    for (const name of names) {
      const w = weights.get(name)!;
      const g = grads.get(name)!;
      // The entry with the largest gradient: a float32 loss resolves it well above rounding noise.
      let at = 0;
      for (let i = 1; i < g.length; i++) if (Math.abs(g[i]) > Math.abs(g[at])) at = i;
      const h = 1e-2;
      const keep = w[at];
      w[at] = keep + h;
      const plus = (await graph.lossAndGradients(weights, examples)).loss;
      w[at] = keep - h;
      const minus = (await graph.lossAndGradients(weights, examples)).loss;
      w[at] = keep;
      const fd = (plus - minus) / (2 * h);
      assert.ok(Math.abs(fd - g[at]) <= 0.02 * Math.abs(g[at]) + 1e-4, `${name}[${at}]: gradient ${g[at]} vs finite difference ${fd}`);
    }
  } finally {
    await graph.release();
    f.cleanup();
  }
});

test('training every weight from a random model learns the examples', async (t) => {
  const f = await tinyFixture();
  const weights = await f.weights();
  const steps: FullSftProgress[] = [];
  try {
    const settings = { steps: 60, batchSize: 4, lr: 1e-2, warmupSteps: 5, finalLrFraction: 0.1, weightDecay: 0, maxGradNorm: 1, seed: 0, bucket: 1000, intraOpThreads: 1 };
    await trainFullSft(f.config, weights, examples, settings, { onStep: (p) => steps.push(p) });
    // Observed: 7.2 -> 0.001 nats per target token.
    t.diagnostic(`loss ${steps[0].loss.toFixed(3)} -> ${steps[steps.length - 1].loss.toFixed(3)}`);
    assert.equal(steps.length, 60);
    assert.ok(steps[steps.length - 1].loss < 0.5 && steps[0].loss > 4, `loss ${steps[0].loss} -> ${steps[steps.length - 1].loss}`);
  } finally {
    f.cleanup();
  }
});

test('the learning rate warms up linearly, then decays on a cosine to its floor', () => {
  const s = { lr: 1, warmupSteps: 10, finalLrFraction: 0.1, steps: 110 };
  assert.equal(fullSftLearningRate(s, 5), 0.5);
  assert.equal(fullSftLearningRate(s, 10), 1);
  assert.ok(Math.abs(fullSftLearningRate(s, 60) - 0.55) < 1e-12);
  assert.ok(Math.abs(fullSftLearningRate(s, 110) - 0.1) < 1e-12);
});
