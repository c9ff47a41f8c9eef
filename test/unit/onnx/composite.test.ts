// The composite check: a transformer block with LoRA on q and v, differentiated end to end,
// against finite differences in float64 (<= 1e-5) and float32 against float64 (<= 1e-3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../../src/onnx';
import { type GradCase, type CaseInput, gradCheck, analyticGradients, relativeError } from './gradcheck';
import { type BlockConfig, blockTensorShapes, transformerBlock, loraNames } from './block';

const config: BlockConfig = { batch: 2, seq: 4, hidden: 8, heads: 2, ffn: 12, rank: 2, eps: 1e-6, loraScale: 2 };
const differentiated = new Set(['x', 'norm1', ...loraNames]);

function blockInputs(): Record<string, CaseInput> {
  const inputs: Record<string, CaseInput> = {};
  for (const [name, shape] of Object.entries(blockTensorShapes(config))) {
    const norm = name.startsWith('norm');
    inputs[name] = {
      shape,
      kind: differentiated.has(name) ? 'float' : 'const',
      values: norm ? (u) => 0.8 + 0.4 * u : (u) => (2 * u - 1) * (name === 'x' ? 1 : 0.5),
    };
  }
  return inputs;
}

const blockCase: GradCase = {
  name: 'transformer block with LoRA',
  inputs: blockInputs(),
  build: (ins) => transformerBlock((n) => ins[n], config),
};

const vocab = 6;
// The same block under an LM head and a log-softmax/gather loss, as the trainer uses it.
const lossCase: GradCase = {
  name: 'block + token log-probs',
  inputs: {
    ...blockInputs(),
    lm_head: { shape: [config.hidden, vocab], kind: 'const' },
    targets: { shape: [config.batch, config.seq], kind: 'int64', values: (u) => Math.floor(u * vocab) },
  },
  build: (ins) => {
    const logits = E.matmul(transformerBlock((n) => ins[n], config), ins.lm_head);
    return E.squeeze(E.gatherElements(E.logSoftmax(logits, -1), E.unsqueeze(ins.targets, [2]), 2), [2]);
  },
};

for (const c of [blockCase, lossCase]) {
  test(`${c.name}: gradients match finite differences within 1e-5 (float64)`, async () => {
    const { relError } = await gradCheck(c);
    assert.ok(relError <= 1e-5, `relative error ${relError}`);
  });

  test(`${c.name}: float32 gradients agree with float64 within 1e-3`, async () => {
    const f64 = await analyticGradients(c, 'float64');
    const f32 = await analyticGradients(c, 'float32');
    for (const k of Object.keys(f64.grads)) {
      const err = relativeError(f32.grads[k], f64.grads[k]);
      assert.ok(err <= 1e-3, `${k}: relative error ${err}`);
    }
  });
}
