// A pre-norm transformer block with LoRA on q and v, written with the engine's ops: RMSNorm,
// causal multi-head attention (mask from Range), SwiGLU MLP. Used by the composite gradient check
// and by the engine benchmark (bench/engine.bench.ts), which mirrors it in PyTorch.
import * as E from '../../../src/onnx';

export interface BlockConfig { batch: number; seq: number; hidden: number; heads: number; ffn: number; rank: number; eps: number; loraScale: number }

/** Tensor names and shapes the block reads; base weights use the x @ W ([in, out]) layout. */
export function blockTensorShapes(c: BlockConfig): Record<string, number[]> {
  return {
    x: [c.batch, c.seq, c.hidden],
    norm1: [c.hidden], wq: [c.hidden, c.hidden], wk: [c.hidden, c.hidden], wv: [c.hidden, c.hidden], wo: [c.hidden, c.hidden],
    lora_q_a: [c.hidden, c.rank], lora_q_b: [c.rank, c.hidden], lora_v_a: [c.hidden, c.rank], lora_v_b: [c.rank, c.hidden],
    norm2: [c.hidden], w_gate: [c.hidden, c.ffn], w_up: [c.hidden, c.ffn], w_down: [c.ffn, c.hidden],
  };
}

export const loraNames = ['lora_q_a', 'lora_q_b', 'lora_v_a', 'lora_v_b'];

function rmsNorm(x: E.Tensor, w: E.Tensor, eps: number): E.Tensor {
  const meanSquare = E.reduceMean(E.mul(x, x), [-1], true);
  return E.mul(E.mul(x, E.reciprocal(E.sqrt(E.add(meanSquare, eps)))), w);
}

function loraLinear(x: E.Tensor, w: E.Tensor, a: E.Tensor, b: E.Tensor, scale: number): E.Tensor {
  return E.add(E.matmul(x, w), E.mul(E.matmul(E.matmul(x, a), b), scale));
}

/** [b, s, hidden] -> [b, heads, s, head_dim] */
function splitHeads(x: E.Tensor, heads: number): E.Tensor {
  const headDim = (x.shape[2] as number) / heads;
  return E.transpose(E.reshape(x, [0, 0, heads, headDim]), [0, 2, 1, 3]);
}

export function transformerBlock(t: (name: string) => E.Tensor, c: BlockConfig): E.Tensor {
  const x = t('x');
  const n1 = rmsNorm(x, t('norm1'), c.eps);
  const q = splitHeads(loraLinear(n1, t('wq'), t('lora_q_a'), t('lora_q_b'), c.loraScale), c.heads);
  const k = splitHeads(E.matmul(n1, t('wk')), c.heads);
  const v = splitHeads(loraLinear(n1, t('wv'), t('lora_v_a'), t('lora_v_b'), c.loraScale), c.heads);
  const scores = E.mul(E.matmul(q, E.swapLast(k)), 1 / Math.sqrt(c.hidden / c.heads));
  // Causal mask from positions: key j is visible to query i when j <= i.
  const pos = E.range(0, E.squeeze(E.dimOf(x, 1), [0]), 1);
  const visible = E.lessOrEqual(E.unsqueeze(pos, [0]), E.unsqueeze(pos, [1]));
  const probs = E.softmax(E.where(visible, scores, -1e9), -1);
  const attn = E.reshape(E.transpose(E.matmul(probs, v), [0, 2, 1, 3]), [0, 0, c.hidden]);
  const h = E.add(x, E.matmul(attn, t('wo')));
  const n2 = rmsNorm(h, t('norm2'), c.eps);
  const gate = E.matmul(n2, t('w_gate'));
  const silu = E.mul(gate, E.sigmoid(gate));
  return E.add(h, E.matmul(E.mul(silu, E.matmul(n2, t('w_up'))), t('w_down')));
}
