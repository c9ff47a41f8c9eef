// Full-parameter supervised training: every weight of the decoder (embedding, norms, projections,
// biases) is a graph input with a gradient, for a model trained from scratch (the embedded default
// refiner). A user's Follower is only ever tuned through LoRA (sft.ts, trainer.ts); this is the
// same next-token loss, -mean log p of the target tokens, on the same decoder definition.
import { AdamW, Graph, clipGradNorm, createSession, grad, mul, reduceSum, serialize, transpose, type Feed, type Session, type Tensor } from '../src/onnx';
import type { DecoderConfig } from '../src/models/config';
import { decoderForward, type WeightSource } from '../src/models/decoder';
import { tokenLogProbs, type WeightMap } from '../src/models/graphs';
import { seededRandom } from '../src/base/seeded-random';
import { logProbBatch } from '../src/models/score';
import { decoderTensorLayout } from '../src/models/weights-layout';
import type { Sample } from '../src/training/data';
import { COEF_INPUT, LOSS_OUTPUT, gradOutputName, padToBatch } from '../src/training/policy';
import { epochBatches } from '../src/training/settings';
import { TrainingCancelledError, TrainingDivergedError } from '../src/training/trainer';
import { validateSftExample, type SftExample } from './sft';

export interface FullSftSettings {
  steps: number;
  batchSize: number;
  /** Peak learning rate, reached after warmupSteps and decayed to lr * finalLrFraction (cosine). */
  lr: number;
  warmupSteps: number;
  finalLrFraction: number;
  weightDecay: number;
  maxGradNorm: number;
  seed: number;
  /** Sequences are grouped by length rounded up to this, so batches carry little padding. */
  bucket: number;
  intraOpThreads?: number;
}

export interface FullSftProgress {
  step: number;
  totalSteps: number;
  /** -mean log p per target token of this step's batch. */
  loss: number;
  gradNorm: number;
  lr: number;
  tokensPerSecond: number;
  etaSeconds: number;
}

export interface FullSftHooks {
  onStep?(progress: FullSftProgress): void;
  /** Called every `every` steps (and not after the last) with the weights as they are. */
  checkpoint?: { every: number; save(weights: WeightMap, step: number): Promise<void> };
  cancelled?(): boolean;
}

/** Cosine decay after a linear warm-up. */
export function fullSftLearningRate(s: Pick<FullSftSettings, 'lr' | 'warmupSteps' | 'finalLrFraction' | 'steps'>, step: number): number {
  if (step <= s.warmupSteps) return (s.lr * step) / Math.max(1, s.warmupSteps);
  const progress = (step - s.warmupSteps) / Math.max(1, s.steps - s.warmupSteps);
  const floor = s.lr * s.finalLrFraction;
  return floor + (s.lr - floor) * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress)));
}

/**
 * Weights as graph inputs under their Hugging Face names. Projections are used transposed; the
 * Transpose of an input is computed per run (an input is never folded into a constant copy).
 */
function inputSource(graph: Graph, config: DecoderConfig): { source: WeightSource; inputs: Tensor[] } {
  const made = new Map<string, Tensor>();
  const inputs: Tensor[] = [];
  const shapes = new Map(decoderTensorLayout(config).map((slot) => [slot.name, slot.shape]));
  const plain = (name: string): Tensor => {
    let t = made.get(name);
    if (t) return t;
    const shape = shapes.get(name);
    if (!shape) throw new Error(`full SFT: ${name} is not a weight of this config`);
    t = graph.input(name, 'float32', shape);
    made.set(name, t);
    inputs.push(t);
    return t;
  };
  const transposed = (name: string): Tensor => {
    const key = `${name}.T`;
    let t = made.get(key);
    if (!t) {
      t = transpose(plain(name), [1, 0]);
      made.set(key, t);
    }
    return t;
  };
  return { source: Object.assign(plain, { transposed }), inputs };
}

/** The loss sum coef * log p with its gradient for every weight. */
export class FullSftGraph {
  private constructor(private readonly session: Session, readonly weightNames: string[], private readonly shapes: Map<string, number[]>, readonly padId: number) {}

  static async create(config: DecoderConfig, intraOpThreads?: number): Promise<FullSftGraph> {
    const graph = new Graph('decoder_full_sft');
    const dims = ['batch_size', 'sequence_length'];
    const inputIds = graph.input('input_ids', 'int64', dims);
    const attentionMask = graph.input('attention_mask', 'int64', dims);
    const positionIds = graph.input('position_ids', 'int64', dims);
    const targetIds = graph.input('target_ids', 'int64', dims);
    const coef = graph.input(COEF_INPUT, 'float32', dims);
    const { source, inputs } = inputSource(graph, config);
    const { logits } = decoderForward(config, source, { inputIds, attentionMask, positionIds });
    const loss = graph.output(reduceSum(mul(coef, tokenLogProbs(logits, targetIds)), undefined, false), LOSS_OUTPUT);
    const names = inputs.map((t) => t.name);
    grad(loss, inputs).forEach((g, i) => graph.output(g, gradOutputName(names[i])));
    const session = await createSession(serialize(graph), { device: 'cpu', intraOpThreads });
    const shapes = new Map(inputs.map((t) => [t.name, t.shape as number[]]));
    return new FullSftGraph(session, names, shapes, config.padTokenId ?? config.eosTokenIds[0] ?? 0);
  }

  /** -mean log p of the target tokens of `examples`, and its gradient for every weight. */
  async lossAndGradients(weights: WeightMap, examples: SftExample[]): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
    const rows = examples.map((e) => ({ ids: [...e.prompt, ...e.target], from: e.prompt.length }));
    const tokens = examples.reduce((n, e) => n + e.target.length, 0);
    const batch = logProbBatch(rows, this.padId);
    const coefs = examples.map((e) => e.target.map(() => -1 / tokens));
    const feeds: Record<string, Feed> = { ...batch.feeds, [COEF_INPUT]: padToBatch(rows, batch, coefs, 'float32') };
    for (const name of this.weightNames) {
      const data = weights.get(name);
      if (!data) throw new Error(`full SFT: weight ${name} is missing`);
      feeds[name] = { dtype: 'float32', data, dims: this.shapes.get(name)! };
    }
    const out = await this.session.run(feeds, [LOSS_OUTPUT, ...this.weightNames.map(gradOutputName)]);
    const grads = new Map(this.weightNames.map((name) => [name, out[gradOutputName(name)].data as Float32Array]));
    return { loss: Number((out[LOSS_OUTPUT].data as Float32Array)[0]), grads };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** Trains every weight in place on `examples` (AdamW, cosine schedule, clipping, NaN guard). */
export async function trainFullSft(config: DecoderConfig, weights: WeightMap, examples: SftExample[], s: FullSftSettings, hooks: FullSftHooks = {}): Promise<FullSftProgress | null> {
  if (examples.length === 0) throw new Error('full SFT: no examples');
  examples.forEach((e, i) => validateSftExample(e, i, config.vocabSize));
  const model = await FullSftGraph.create(config, s.intraOpThreads);
  const params = new Map(model.weightNames.map((name) => [name, weights.get(name)!]));
  const optimizer = new AdamW(params, { lr: s.lr, weightDecay: s.weightDecay });
  const samples: Sample[] = examples.map((e) => ({ role: 'follower', prompt: e.prompt, completion: e.target, score: 1, behaviour: null, referencePrompt: e.prompt }));
  const rand = seededRandom(s.seed);
  let queue: Sample[][] = [];
  const started = performance.now();
  let tokens = 0;
  let last: FullSftProgress | null = null;
  try {
    for (let step = 1; step <= s.steps; step++) {
      if (hooks.cancelled?.()) throw new TrainingCancelledError(`training cancelled at step ${step} of ${s.steps}`);
      if (queue.length === 0) queue = epochBatches(samples, s.batchSize, s.bucket, rand);
      const batch = queue.shift()!.map((x) => ({ prompt: x.prompt, target: x.completion }));
      const { loss, grads } = await model.lossAndGradients(weights, batch);
      const { norm } = clipGradNorm(grads, s.maxGradNorm);
      if (!Number.isFinite(loss) || !Number.isFinite(norm)) throw new TrainingDivergedError(`full SFT diverged at step ${step}: loss ${loss}, gradient norm ${norm}; lower the learning rate`);
      const lr = fullSftLearningRate(s, step);
      optimizer.step(grads, lr);
      tokens += batch.reduce((n, e) => n + e.prompt.length + e.target.length, 0);
      const elapsed = (performance.now() - started) / 1000;
      last = { step, totalSteps: s.steps, loss, gradNorm: norm, lr, tokensPerSecond: tokens / elapsed, etaSeconds: (elapsed / step) * (s.steps - step) };
      hooks.onStep?.(last);
      if (hooks.checkpoint && step % hooks.checkpoint.every === 0 && step < s.steps) await hooks.checkpoint.save(weights, step);
    }
  } finally {
    await model.release();
  }
  return last;
}
