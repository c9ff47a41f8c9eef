// The bench's model: the built-in default model (or --model DIR), its tokenizer, the product's
// prompts for both roles, and a supervised warm start that gives it a spread over the endings.
import { loadTokenizer, type TextTokenizer } from '../../src/models/tokenizer';
import { openCheckpoint } from '../../src/models/checkpoint';
import type { DecoderConfig } from '../../src/models/config';
import { readDecoderWeights } from '../../src/models/export';
import type { WeightMap } from '../../src/models/graphs';
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loraScale, mergeLoraPair, type LoraAdapter, type LoraConfig } from '../../src/models/lora';
import { loadPeftAdapter, savePeftAdapter } from '../../src/models/peft';
import { followerMessages, leaderMessages, PRESETS, renderPrompt } from '../../src/models/prompts';
import { Policy } from '../../src/training/policy';
import { resolveSettings } from '../../src/training/settings';
import { trainSft, type SftExample } from '../../lab/sft';
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
    // transformers.js refuses to decode nothing (a Leader can answer with its end-of-turn at once).
    decode: (ids) => (ids.length ? tokenizer.decode(ids, { skip_special_tokens: true }).trim() : ''),
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
 * The built-in model copies a sentence's final mark (another ending gets 0.05% of its proper answers
 * on average, measured at temperature 0.9), so a method that learns from its own samples would almost
 * never see another ending. Every method therefore
 * starts from the same warm start: supervised fine-tuning towards "copy the sentence and end it
 * with any of the three endings", merged into the weights. Leader prompts get the three endings
 * uniformly; a Follower prompt gets its draft's own ending twice as often as each other one, so the
 * answer still depends on the draft (a first warm start with uniform targets taught the model to
 * ignore the draft's ending, and no SLHF pilot relearned the dependence in 60-80 steps). It is the
 * reference policy of every method, like the SFT model the paper starts from; it knows nothing of
 * the judge.
 */
export async function warmStart(model: BenchModel, weights: WeightMap, stems: readonly string[], o: { steps: number; lora: LoraConfig; seed: number; threads?: number }): Promise<{ weights: WeightMap; cached: boolean }> {
  const examples: SftExample[] = [];
  for (const stem of stems) {
    const leader = model.leaderPrompt(stem);
    for (let k = 0; k < ENDINGS.length; k++) examples.push({ prompt: leader, target: model.completion(withEnding(stem, k)) });
    ENDINGS.forEach((_, d) => {
      const prompt = model.followerPrompt(stem, withEnding(stem, d));
      for (const k of [d, d, (d + 1) % ENDINGS.length, (d + 2) % ENDINGS.length]) examples.push({ prompt, target: model.completion(withEnding(stem, k)) });
    });
  }
  const s = resolveSettings({ lora: o.lora, lr: 2e-3, steps: o.steps, batchSize: 24, warmupSteps: 5, seed: o.seed, intraOpThreads: o.threads });
  // Deterministic from its inputs, so a run reuses the adapter an earlier run trained on the same
  // weights, data and settings (a cache, like the refiner's converted models).
  const hash = createHash('sha256').update(JSON.stringify({ examples, lora: o.lora, steps: o.steps, seed: o.seed }));
  for (const w of weights.values()) hash.update(new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
  const dir = join(tmpdir(), 'slhf-bench-warm-start', hash.digest('hex').slice(0, 16));
  if (existsSync(join(dir, 'adapter_config.json'))) return { weights: mergedWeights(weights, await loadPeftAdapter(dir, model.config)), cached: true };
  const policy = await Policy.create(model.config, weights, { lora: o.lora, intraOpThreads: o.threads });
  try {
    const { adapter } = await trainSft(policy, examples, s);
    await savePeftAdapter(dir, adapter);
    return { weights: mergedWeights(weights, adapter), cached: false };
  } finally {
    await policy.release();
  }
}
