// LoRA dropout drawn inside the training graph. Feeding a mask per adapted projection costs
// batch x seq x in floats each (about 2 GB per step for Qwen2.5-0.5B at batch 4 x 512 with every
// target); drawing it in the graph costs nothing to feed, and forward and backward share the one
// mask tensor of a run.
import { type Tensor, apply, cast, defineOp, greaterOrEqual, mul } from '../onnx';

// Not in the engine's op set yet; defined here with the engine's public defineOp.
const randomUniformLikeOp = defineOp<{ low: number; high: number; seed: number }>({
  opType: 'RandomUniformLike',
  attrKinds: { low: 'float', high: 'float', seed: 'float' },
  noGrad: true,
  infer: ([x]) => [{ dtype: x!.dtype, shape: x!.shape }],
});

/**
 * An inverted-dropout mask shaped like `x`: 0 with probability p, else 1/(1-p). ONNX Runtime seeds
 * the generator once per session from `seed`, so each run draws a fresh mask and a new session
 * replays the same sequence.
 */
export function dropoutMaskLike(x: Tensor, p: number, seed: number): Tensor {
  const u = apply(randomUniformLikeOp, [x], { low: 0, high: 1, seed })[0];
  return mul(cast(greaterOrEqual(u, p), x.dtype), 1 / (1 - p));
}
