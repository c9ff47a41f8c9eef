// Drives an inference graph the way transformers.js does: a left-padded batch is prefilled, then
// decoded one token at a time, each step feeding back the previous step's present key/values.
import { NUM_LOGITS_TO_KEEP, pastName, presentName } from '../../../src/models/graphs';
import type { Feed, Session, ort } from '../../../src/onnx';
import { i64, positionsFor } from './fixtures';

interface CacheShape { numLayers: number; numKvHeads: number; headDim: number }

export function emptyPast(config: CacheShape, batch: number, dtype: 'float32' | 'float16' = 'float32'): Record<string, Feed> {
  const feeds: Record<string, Feed> = {};
  for (let l = 0; l < config.numLayers; l++) {
    for (const kind of ['key', 'value'] as const) {
      const data = dtype === 'float16' ? new Uint16Array(0) : new Float32Array(0);
      feeds[pastName(l, kind)] = { dtype, data, dims: [batch, config.numKvHeads, 0, config.headDim] };
    }
  }
  return feeds;
}

export interface Step {
  /** Columns [start, end) of the sequences fed in this step. */
  start: number;
  end: number;
  out: Record<string, ort.Tensor>;
}

export interface StepPlan {
  /** Equal-length rows; row b's first pad[b] tokens are padding. */
  seqs: number[][];
  pad: number[];
  /** Columns fed at once in the first step; the rest go one at a time. */
  prefill: number;
  /** num_logits_to_keep for every step (0: all positions). */
  keep?: number;
  cacheDType?: 'float32' | 'float16';
}

export async function runSteps(session: Session, config: CacheShape, plan: StepPlan): Promise<Step[]> {
  const { seqs, pad, prefill } = plan;
  const batch = seqs.length;
  const masks = seqs.map((s, b) => s.map((_, t) => (t < pad[b] ? 0 : 1)));
  const steps: Step[] = [];
  let past = emptyPast(config, batch, plan.cacheDType);
  for (let start = 0; start < seqs[0].length; start = start === 0 ? prefill : start + 1) {
    const end = start === 0 ? prefill : start + 1;
    const out = await session.run({
      input_ids: i64(seqs.flatMap((s) => s.slice(start, end)), [batch, end - start]),
      attention_mask: i64(masks.flatMap((mk) => mk.slice(0, end)), [batch, end]),
      position_ids: i64(masks.flatMap((mk) => positionsFor(mk).slice(start, end)), [batch, end - start]),
      [NUM_LOGITS_TO_KEEP]: i64([plan.keep ?? 0], []),
      ...past,
    });
    steps.push({ start, end, out });
    past = {};
    for (let l = 0; l < config.numLayers; l++) {
      for (const kind of ['key', 'value'] as const) past[pastName(l, kind)] = out[presentName(l, kind)];
    }
  }
  return steps;
}

/** Two rows, the second left-padded by 3; long enough to pass Mistral's 6-token window in the fixtures. */
export const PADDED_PLAN: StepPlan = {
  seqs: [[3, 9, 27, 40, 12, 6, 18, 33, 21, 8, 44, 15], [0, 0, 0, 7, 14, 28, 41, 2, 5, 19, 30, 11]],
  pad: [0, 3],
  prefill: 4,
};
