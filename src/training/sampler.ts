// Sampling from the policy for online training: a logits graph (the decoder with the LoRA factors
// as inputs, last position only) and a plain sampling loop. Without a KV cache each new token
// re-runs the whole sequence: fine for the short samples and small models online training uses.
import { Graph, createSession, serialize, slice, squeeze, type Device, type Feed, type Session } from '../onnx';
import type { DecoderConfig } from '../models/config';
import { decoderForward, type LoraTensors } from '../models/decoder';
import { initializerSource, loraInputName, type WeightMap } from '../models/graphs';
import { loraScale, loraSlots, type LoraConfig } from '../models/lora';
import { logProbBatch } from '../models/score';

export interface SampleSettings {
  maxNewTokens: number;
  /** Paper: 0.9. Behaviour log-probs are recorded at this temperature. */
  temperature: number;
  /** Token ids that end a sample (kept as its last token). */
  eos: number[];
}

export interface Sampled {
  ids: number[];
  /** log p(token) at the sampling temperature: the behaviour log-probs. */
  behaviour: number[];
}

export class Sampler {
  private constructor(private readonly session: Session, readonly padId: number, readonly vocab: number) {}

  static async create(config: DecoderConfig, weights: WeightMap, lora: LoraConfig, intraOpThreads?: number, device: Device = 'cpu'): Promise<Sampler> {
    const graph = new Graph('decoder_sample');
    const dims = ['batch_size', 'sequence_length'];
    const inputIds = graph.input('input_ids', 'int64', dims);
    const attentionMask = graph.input('attention_mask', 'int64', dims);
    const positionIds = graph.input('position_ids', 'int64', dims);
    const tensors: LoraTensors = { scale: loraScale(lora), modules: new Map() };
    for (const slot of loraSlots(config, lora)) {
      const a = graph.input(loraInputName(slot.module, 'A'), 'float32', [lora.rank, slot.inFeatures]);
      const b = graph.input(loraInputName(slot.module, 'B'), 'float32', [slot.outFeatures, lora.rank]);
      tensors.modules.set(slot.module, { a, b });
    }
    const { logits } = decoderForward(config, initializerSource(graph, config, weights), { inputIds, attentionMask, positionIds, lora: tensors });
    graph.output(squeeze(slice(logits, [-1], [2 ** 31 - 1], [1]), [1]), 'last_logits');
    const session = await createSession(serialize(graph), { device, intraOpThreads });
    return new Sampler(session, config.padTokenId ?? config.eosTokenIds[0] ?? 0, config.vocabSize);
  }

  /** One sample per prompt, drawn with `rand`. */
  async sample(prompts: number[][], lora: Record<string, Feed>, s: SampleSettings, rand: () => number): Promise<Sampled[]> {
    const out: Sampled[] = prompts.map(() => ({ ids: [], behaviour: [] }));
    const done = prompts.map(() => false);
    const eos = new Set(s.eos);
    for (let t = 0; t < s.maxNewTokens && done.includes(false); t++) {
      const rows = prompts.map((p, i) => ({ ids: [...p, ...out[i].ids], from: 1 }));
      const inputs = { ...logProbBatch(rows, this.padId).feeds };
      delete inputs.target_ids;
      const result = await this.session.run({ ...inputs, ...lora }, ['last_logits']);
      const logits = result.last_logits.data as Float32Array;
      prompts.forEach((_, i) => {
        if (done[i]) return;
        const { token, logprob } = drawToken(logits.subarray(i * this.vocab, (i + 1) * this.vocab), s.temperature, rand);
        out[i].ids.push(token);
        out[i].behaviour.push(logprob);
        if (eos.has(token)) done[i] = true;
      });
    }
    return out;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** A token from softmax(logits / temperature), and its log-prob under that distribution. */
export function drawToken(logits: ArrayLike<number>, temperature: number, rand: () => number): { token: number; logprob: number } {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i] / temperature);
  let z = 0;
  for (let i = 0; i < logits.length; i++) z += Math.exp(logits[i] / temperature - max);
  const logZ = max + Math.log(z);
  let u = rand() * z;
  let token = logits.length - 1;
  for (let i = 0; i < logits.length; i++) {
    u -= Math.exp(logits[i] / temperature - max);
    if (u <= 0) {
      token = i;
      break;
    }
  }
  return { token, logprob: logits[token] / temperature - logZ };
}
