// The bench's model: the built-in default model (or --model DIR), its tokenizer, the product's
// prompts for both roles, and a supervised warm start that gives it a spread over the endings.
import { loadTokenizer, type TextTokenizer } from '../../src/models/tokenizer';
import { openCheckpoint } from '../../src/models/checkpoint';
import type { DecoderConfig } from '../../src/models/config';
import { readDecoderWeights } from '../../src/models/export';
import type { WeightMap } from '../../src/models/graphs';
import { loraScale, mergeLoraPair, type LoraAdapter, type LoraConfig } from '../../src/models/lora';
import { followerMessages, leaderMessages, PRESETS, renderPrompt } from '../../src/refiner';
import { Policy } from '../../src/training/policy';
import { resolveSettings } from '../../src/training/settings';
import { trainSft, type SftExample } from '../../src/training/sft';
import { ENDINGS } from './judge';
import { withEnding } from './tasks';

export interface BenchModel {
  config: DecoderConfig;
  tokenizer: TextTokenizer;
  /** The end-of-turn token a completion ends with. */
  endOfTurn: number;
  /** The Leader's prompt for an instruction x (Draft and Refine). */
  leaderPrompt(x: string): number[];
  /** The Follower's prompt for x and the text it refines (a refinement round). */
  followerPrompt(x: string, draft: string): number[];
  /** A completion as the model would produce it: the text and the end-of-turn token. */
  completion(text: string): number[];
  decode(ids: number[]): string;
}

export async function loadBenchModel(dir: string): Promise<{ model: BenchModel; weights: WeightMap }> {
  const checkpoint = await openCheckpoint(dir);
  const config = checkpoint.config;
  await checkpoint.close();
  const weights = await readDecoderWeights(dir);
  const tokenizer = await loadTokenizer(dir);
  const endOfTurn = config.eosTokenIds[config.eosTokenIds.length - 1];
  const encode = (messages: Parameters<typeof renderPrompt>[1]) => {
    const rendered = renderPrompt(tokenizer, messages);
    return tokenizer.encode(rendered.text, { add_special_tokens: rendered.addSpecialTokens });
  };
  // The prose preset, with the bench's text as the instruction: what "Draft and Refine" sends.
  const context = (x: string) => ({ preset: PRESETS.prose, instruction: x });
  const model: BenchModel = {
    config, tokenizer, endOfTurn,
    leaderPrompt: (x) => encode(leaderMessages(context(x))),
    followerPrompt: (x, draft) => encode(followerMessages(context(x), draft)),
    completion: (text) => [...tokenizer.encode(text, { add_special_tokens: false }), endOfTurn],
    decode: (ids) => tokenizer.decode(ids, { skip_special_tokens: true }).trim(),
  };
  return { model, weights };
}

/** A copy of the weights with a LoRA adapter merged in (W += scale B A). */
export function mergedWeights(weights: WeightMap, adapter: LoraAdapter): WeightMap {
  const out: WeightMap = new Map([...weights].map(([name, w]) => [name, Float32Array.from(w)]));
  const scale = loraScale(adapter.config);
  for (const pair of adapter.pairs) mergeLoraPair(out.get(`${pair.module}.weight`)!, pair, scale);
  return out;
}

/**
 * The built-in model copies a sentence's final mark with probability above 0.999 (measured), so no
 * method that learns from its own samples could ever see another ending. Every method therefore
 * starts from the same warm start: supervised fine-tuning towards "copy the sentence, end it with
 * any of the three endings" (targets uniform over the endings, for Leader prompts and for Follower
 * prompts of every draft ending), merged into the weights. It is the reference policy of every
 * method, like the SFT model the paper starts from; it knows nothing of the judge.
 */
export async function warmStart(model: BenchModel, weights: WeightMap, stems: readonly string[], o: { steps: number; lora: LoraConfig; seed: number; threads?: number }): Promise<WeightMap> {
  const examples: SftExample[] = [];
  for (const stem of stems) {
    const prompts = [model.leaderPrompt(stem), ...ENDINGS.map((_, e) => model.followerPrompt(stem, withEnding(stem, e)))];
    for (const prompt of prompts) for (let k = 0; k < ENDINGS.length; k++) examples.push({ prompt, target: model.completion(withEnding(stem, k)) });
  }
  const policy = await Policy.create(model.config, weights, { lora: o.lora, intraOpThreads: o.threads });
  try {
    const s = resolveSettings({ lora: o.lora, lr: 2e-3, steps: o.steps, batchSize: 24, warmupSteps: 5, seed: o.seed, intraOpThreads: o.threads });
    const { adapter } = await trainSft(policy, examples, s);
    return mergedWeights(weights, adapter);
  } finally {
    await policy.release();
  }
}
