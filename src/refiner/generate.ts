// One generation (a draft or a refinement round) on a hosted model: transformers.js runs the model
// and its KV cache; each step our logits processor picks the token (seeded, see sampler.ts) and
// records its log-probs, and a stopping criterion checked after every step ends it on cancellation.
import { StreamingExtractor } from './extract';
import { checkContext, checkMemoryBudget } from './limits';
import type { PromptParts } from '../models/generation-record';
import { promptMessages, renderPrompt } from '../models/prompts';
import { chooseToken } from './sampler';
import type { LoadedModel } from './host';
import { seededRandom } from '../models/seeded-random';
import type { GeneratedText, GenerationSettings, Role, StopReason } from './settings';

export interface GenerateInput {
  role: Role;
  round: number;
  /** What the prompt is built from; the generation records it with its rendering. */
  prompt: PromptParts;
  /** The text being refined (or the instruction for a draft): its outer whitespace is kept. */
  original: string;
  /** Text the model may echo at the start of its answer (the follower instruction). */
  echo?: string;
  settings: GenerationSettings & { seed: number };
  /** Caps the model's context (tokens), e.g. to bound memory. */
  contextLimit?: number;
  signal?: AbortSignal;
  onChunk?: (chunk: string) => void;
}

/** Counters a test (or a log) can read to see how promptly cancellation took effect. */
export interface StepCounters {
  steps: number;
  stepsAfterAbort: number;
}

export async function generateText(loaded: LoadedModel, input: GenerateInput, counters: StepCounters = { steps: 0, stepsAfterAbort: 0 }): Promise<GeneratedText> {
  const { LogitsProcessor, StoppingCriteria, Tensor } = await import('@huggingface/transformers');
  const { tokenizer, model } = loaded;
  const { settings, signal } = input;
  const prompt = renderPrompt(tokenizer, promptMessages(input.prompt));
  const promptIds: number[] = tokenizer.encode(prompt.text, { add_special_tokens: prompt.addSpecialTokens });
  const context = Math.min(loaded.contextLength, input.contextLimit ?? Infinity);
  checkContext(promptIds.length, settings.maxNewTokens, context, input.role);
  checkMemoryBudget({
    dims: loaded.dims, promptTokens: promptIds.length, maxNewTokens: settings.maxNewTokens, role: input.role,
    limitBytes: loaded.memoryLimitBytes, residentBytes: loaded.residentAfterLoad,
  });

  const extractOptions = { original: input.original, stopStrings: prompt.stopStrings, echo: input.echo };
  const extractor = new StreamingExtractor(extractOptions);
  const random = seededRandom(settings.seed);
  const tokenIds: number[] = [];
  const logprobs: number[] = [];
  const samplingLogprobs: number[] = [];
  const eos = new Set(loaded.eosIds);
  const decode = (ids: number[]) => {
    const body = ids.length > 0 && eos.has(ids[ids.length - 1]) ? ids.slice(0, -1) : ids;
    return body.length === 0 ? '' : (tokenizer.decode(body, { skip_special_tokens: true }) as string);
  };
  const startedAt = new Date();
  const t0 = performance.now();
  let firstTokenAt: number | null = null;
  let stopString = false;

  class ChooseToken extends LogitsProcessor {
    override _call(inputIds: bigint[][], logits: any): any {
      counters.steps++;
      if (inputIds.length !== 1) throw new Error('generation runs one sequence at a time');
      const data = logits.data as Float32Array;
      if (signal?.aborted) {
        counters.stepsAfterAbort++;
        return logits; // the token of this step is discarded; the criterion below ends the loop
      }
      const choice = chooseToken(data, inputIds[0].map(Number), settings, random);
      data.fill(-Infinity);
      data[choice.token] = 0; // transformers.js's greedy step then takes exactly this token
      tokenIds.push(choice.token);
      logprobs.push(choice.logprob);
      samplingLogprobs.push(choice.samplingLogprob);
      firstTokenAt ??= performance.now();
      const { chunk, stop } = extractor.push(decode(tokenIds));
      if (chunk) input.onChunk?.(chunk);
      stopString ||= stop;
      return logits;
    }
  }
  class StopWhenAsked extends StoppingCriteria {
    override _call(inputIds: number[][]): boolean[] {
      return inputIds.map(() => stopString || Boolean(signal?.aborted));
    }
  }

  if (!signal?.aborted) {
    const n = promptIds.length;
    await model.generate({
      input_ids: new Tensor('int64', BigInt64Array.from(promptIds, BigInt), [1, n]),
      attention_mask: new Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
      max_new_tokens: settings.maxNewTokens,
      // Our processor chooses every token; these keep transformers.js (and the model's own
      // generation_config) from sampling, penalizing or filtering on top of it.
      do_sample: false, num_beams: 1, repetition_penalty: 1.0, no_repeat_ngram_size: 0, min_new_tokens: null, min_length: 0,
      logits_processor: [new ChooseToken()],
      stopping_criteria: [new StopWhenAsked()],
    });
  }
  const totalMs = performance.now() - t0;
  const rawText = decode(tokenIds);
  const { chunk, text } = extractor.finish(rawText);
  if (chunk) input.onChunk?.(chunk);
  const last = tokenIds[tokenIds.length - 1];
  const stopReason: StopReason = signal?.aborted ? 'cancelled' : stopString ? 'stop-string' : last !== undefined && eos.has(last) ? 'eos' : 'max-new-tokens';
  const decodeMs = firstTokenAt === null ? 0 : performance.now() - firstTokenAt;
  return {
    role: input.role,
    round: input.round,
    text,
    rawText,
    prompt: { ...input.prompt, text: prompt.text, tokenIds: promptIds },
    tokenIds,
    logprobs,
    samplingLogprobs,
    logprobSum: logprobs.reduce((a, b) => a + b, 0),
    modelId: loaded.source.modelId,
    adapterVersion: loaded.source.adapterVersion,
    sampling: {
      temperature: settings.temperature, topP: settings.topP, topK: settings.topK,
      repetitionPenalty: settings.repetitionPenalty, seed: settings.seed, maxNewTokens: settings.maxNewTokens,
    },
    timings: {
      startedAt: startedAt.toISOString(),
      totalMs,
      ...(firstTokenAt !== null ? { firstTokenMs: firstTokenAt - t0 } : {}),
      tokens: tokenIds.length,
      ...(tokenIds.length > 1 && decodeMs > 0 ? { tokensPerSecond: (tokenIds.length - 1) / (decodeMs / 1000) } : {}),
    },
    stopReason,
    fixedPoint: false,
  };
}
