// Sampling from the policy for online training: the sampling graph of src/models/graphs.ts (last
// position's logits, LoRA factors as inputs) and a plain sampling loop whose tokens and behaviour
// log-probs come from the refiner's chooseToken (src/models/token-choice.ts).
import { createSession, serialize, type Device, type Feed, type Session } from '../onnx';
import type { DecoderConfig } from '../models/config';
import { buildLastLogitsGraph, LAST_LOGITS, type WeightMap } from '../models/graphs';
import type { LoraConfig } from '../models/lora';
import { logProbBatch } from '../models/score';
import { chooseToken, temperedSampling } from '../models/token-choice';

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
    const session = await createSession(serialize(buildLastLogitsGraph(config, weights, lora)), { device, intraOpThreads });
    return new Sampler(session, config.padTokenId ?? config.eosTokenIds[0] ?? 0, config.vocabSize);
  }

  /** One sample per prompt, drawn with `rand`. */
  async sample(prompts: number[][], lora: Record<string, Feed>, s: SampleSettings, rand: () => number): Promise<Sampled[]> {
    const out: Sampled[] = prompts.map(() => ({ ids: [], behaviour: [] }));
    const done = prompts.map(() => false);
    const eos = new Set(s.eos);
    const params = temperedSampling(s.temperature);
    for (let t = 0; t < s.maxNewTokens && done.includes(false); t++) {
      const rows = prompts.map((p, i) => ({ ids: [...p, ...out[i].ids], from: 1 }));
      const inputs = { ...logProbBatch(rows, this.padId).feeds };
      delete inputs.target_ids;
      const result = await this.session.run({ ...inputs, ...lora }, [LAST_LOGITS]);
      const logits = result[LAST_LOGITS].data as Float32Array;
      prompts.forEach((_, i) => {
        if (done[i]) return;
        const { token, logprob } = chooseToken(logits.subarray(i * this.vocab, (i + 1) * this.vocab), [], params, rand);
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
