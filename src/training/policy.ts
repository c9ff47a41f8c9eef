// The policy's two sessions over one decoder: a probe (per-token log-probs with the LoRA factors as
// inputs, no dropout) and the training graph (the same log-probs, the loss sum_t coef_t * l_t with
// the coefficients fed per step, and the loss's gradients w.r.t. every LoRA factor). Both score
// each row at its own temperature (ScoreRow.temperature), the one its tokens were sampled at.
import { createSession, grad, mul, reduceSum, serialize, type Device, type Feed, type Session } from '../onnx';
import type { DecoderConfig } from '../models/config';
import { buildLogProbGraph, INVERSE_TEMPERATURE, loraFeeds, loraInputName, type WeightMap } from '../models/graphs';
import type { LoraAdapter, LoraConfig } from '../models/lora';
import { inverseTemperatureFeed, logProbBatch, rowLogProbs, type LogProbBatch, type ScoreRow } from '../models/score';

export const COEF_INPUT = 'token_coef';
export const LOSS_OUTPUT = 'loss';
export const gradOutputName = (input: string): string => `grad.${input}`;

export interface PolicyOptions {
  lora: LoraConfig;
  /** float64 serves gradient checks. */
  dtype?: 'float32' | 'float64';
  intraOpThreads?: number;
  /** Seed of the in-graph LoRA dropout masks (used when lora.dropout > 0). */
  dropoutSeed?: number;
  /** Default cpu; another provider falls back to the CPU when it cannot start. */
  device?: Device;
}

type FloatArray = Float32Array | Float64Array;

export interface GradientResult {
  loss: number;
  /** By LoRA input name (PEFT tensor name). */
  grads: Map<string, FloatArray>;
}

/** Places per-row, per-completion-token values at their padded [batch, width] positions. */
export function padToBatch(rows: ScoreRow[], batch: LogProbBatch, values: number[][], dtype: 'float32' | 'float64'): Feed {
  const data = dtype === 'float64' ? new Float64Array(batch.batch * batch.width) : new Float32Array(batch.batch * batch.width);
  rows.forEach((row, b) => {
    const v = values[b];
    if (v.length !== row.ids.length - row.from) throw new Error(`coefficients: row ${b} has ${v.length} values for ${row.ids.length - row.from} scored tokens`);
    // Token j's log-prob sits at padded position pad + j - 1 (as rowLogProbs reads it).
    for (let j = row.from; j < row.ids.length; j++) data[b * batch.width + batch.pads[b] + j - 1] = v[j - row.from];
  });
  return { dtype, data, dims: [batch.batch, batch.width] };
}

export class Policy {
  private constructor(
    readonly config: DecoderConfig,
    readonly lora: LoraConfig,
    readonly dtype: 'float32' | 'float64',
    readonly padId: number,
    private readonly probe: Session,
    private readonly train: Session,
    readonly inputNames: string[],
  ) {}

  static async create(config: DecoderConfig, weights: WeightMap, options: PolicyOptions): Promise<Policy> {
    const dtype = options.dtype ?? 'float32';
    const probeGraph = buildLogProbGraph(config, weights, { lora: options.lora, dtype, temperature: true });
    const dropout = options.lora.dropout > 0 ? { seed: options.dropoutSeed ?? 0 } : undefined;
    const t = buildLogProbGraph(config, weights, { lora: options.lora, dtype, dropout, temperature: true });
    const coef = t.graph.input(COEF_INPUT, dtype, ['batch_size', 'sequence_length']);
    const loss = t.graph.output(reduceSum(mul(coef, t.tokenLogProbs), undefined, false), LOSS_OUTPUT);
    const factors = t.lora.flatMap((p) => [p.a, p.b]);
    const inputNames = t.lora.flatMap((p) => [loraInputName(p.slot.module, 'A'), loraInputName(p.slot.module, 'B')]);
    grad(loss, factors).forEach((g, i) => t.graph.output(g, gradOutputName(inputNames[i])));
    const sessionOptions = { device: options.device ?? 'cpu', intraOpThreads: options.intraOpThreads };
    const probe = await createSession(serialize(probeGraph.graph), sessionOptions);
    const train = await createSession(serialize(t.graph), sessionOptions);
    const padId = config.padTokenId ?? config.eosTokenIds[0] ?? 0;
    return new Policy(config, options.lora, dtype, padId, probe, train, inputNames);
  }

  /** LoRA feeds of an adapter in this policy's dtype. */
  adapterFeeds(adapter: LoraAdapter): Record<string, Feed> {
    return loraFeeds(adapter, this.dtype);
  }

  /** Per-row log-probs of ids[from..] at each row's temperature (evaluation mode: no dropout). */
  async logprobs(rows: ScoreRow[], lora: Record<string, Feed>): Promise<number[][]> {
    const batch = logProbBatch(rows, this.padId);
    const out = await this.probe.run({ ...batch.feeds, ...lora, [INVERSE_TEMPERATURE]: inverseTemperatureFeed(rows, this.dtype) }, ['token_logprobs']);
    return rowLogProbs(rows, batch, out.token_logprobs.data as Float32Array);
  }

  /** The surrogate loss sum coef * l and its gradients for one batch. */
  async gradients(rows: ScoreRow[], coefs: number[][], lora: Record<string, Feed>): Promise<GradientResult> {
    const batch = logProbBatch(rows, this.padId);
    const out = await this.train.run({
      ...batch.feeds, ...lora, [INVERSE_TEMPERATURE]: inverseTemperatureFeed(rows, this.dtype), [COEF_INPUT]: padToBatch(rows, batch, coefs, this.dtype),
    }, [
      LOSS_OUTPUT, ...this.inputNames.map(gradOutputName),
    ]);
    const grads = new Map<string, FloatArray>();
    for (const name of this.inputNames) grads.set(name, out[gradOutputName(name)].data as FloatArray);
    return { loss: Number((out[LOSS_OUTPUT].data as FloatArray)[0]), grads };
  }

  async release(): Promise<void> {
    await this.probe.release();
    await this.train.release();
  }
}
