// One generation (a draft or a refinement round) on a hosted model. We run the model's ONNX Runtime
// session ourselves (kv-decoder.ts): the prompt in chunks, then one pass per step; each step's token
// is chosen by chooseToken (src/models/token-choice.ts) with a seeded random stream and its log-probs recorded. With speculation
// (speculation.ts) a step also verifies tokens drafted from the text being refined, and accepts
// each one only where the token choice picks it anyway, so the result does not depend on it.
// Cancellation is checked between passes. transformers.js still provides the tokenizer and template.
import { StreamingExtractor } from './extract';
import { IncrementalDecoder } from './incremental-decode';
import { KvDecoder, type PassOutput } from './kv-decoder';
import { checkContext, checkMemoryBudget, PREFILL_CHUNK_TOKENS } from './limits';
import type { PromptParts } from '../base/generation-record';
import { promptMessages, renderPrompt } from '../models/prompts';
import { chooseToken, type TokenChoice } from '../models/token-choice';
import type { LoadedModel } from './host';
import { seededRandom } from '../base/seeded-random';
import type { GeneratedText, GenerationSettings, Role, StopReason } from './refiner-settings';
import { draftTokensSetting, emptySpeculationCounters, lookupDraft, type SpeculationCounters } from './speculation';

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
  /** Tokens drafted per step from the text being refined (speculation.ts); 0 turns speculation off. Default: draftTokensSetting(). */
  draftTokens?: number;
  signal?: AbortSignal;
  onChunk?: (chunk: string) => void;
}

/**
 * Counters a test (or a log, or the bench) can read: how promptly cancellation took effect (a step
 * is one token-choosing pass: the whole prefill counts once) and what speculation did.
 */
export interface StepCounters extends Partial<SpeculationCounters> {
  steps: number;
  stepsAfterAbort: number;
}

export async function generateText(loaded: LoadedModel, input: GenerateInput, counters: StepCounters = { steps: 0, stepsAfterAbort: 0 }): Promise<GeneratedText> {
  const { tokenizer } = loaded;
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
  // The streamed text, decoded a short window per token (the whole output is decoded once, at the end).
  const streamed = new IncrementalDecoder((ids) => tokenizer.decode(ids, { skip_special_tokens: true }) as string);
  const startedAt = new Date();
  const t0 = performance.now();
  let firstTokenAt: number | null = null;
  let stopString = false;
  const maxDraft = input.draftTokens ?? draftTokensSetting();
  const speculation = emptySpeculationCounters();

  /** The prompt and every emitted token: what the repetition penalty and the lookup read. */
  const sequence = [...promptIds];
  /** Records a chosen token; true when the generation ends with it. */
  const emit = (choice: TokenChoice): boolean => {
    sequence.push(choice.token);
    tokenIds.push(choice.token);
    logprobs.push(choice.logprob);
    samplingLogprobs.push(choice.samplingLogprob);
    firstTokenAt ??= performance.now();
    const { chunk, stop } = extractor.push(streamed.push(tokenIds, eos.has(choice.token) ? tokenIds.length - 1 : tokenIds.length));
    if (chunk) input.onChunk?.(chunk);
    stopString ||= stop;
    return stopString || eos.has(choice.token) || tokenIds.length >= settings.maxNewTokens;
  };

  const countDrafts = (drafts: number[]) => {
    if (drafts.length === 0) return;
    speculation.verifySteps++;
    speculation.drafted += drafts.length;
  };
  // A pass's rows, each with its log sum exp where the graph computed it.
  const split = (out: PassOutput | null, n: number) => (out ? Array.from({ length: n }, (_, i) => ({
    logits: out.logits.subarray((i * out.logits.length) / n, ((i + 1) * out.logits.length) / n),
    logSumExp: out.logSumExps?.[i],
  })) : []);

  // A pass never holds more than the prompt and maxNewTokens (drafts stop at the budget).
  const decoder = new KvDecoder(loaded.model.sessions.model, loaded.device === 'cpu' ? promptIds.length + settings.maxNewTokens : undefined);
  try {
    if (!signal?.aborted && settings.maxNewTokens > 0) {
      // The prompt's last pass verifies a first draft too: what followed the prompt's ending earlier
      // (a chat turn's opening, then the draft), else the opening of the text being refined.
      const firstDraft = Math.min(maxDraft, settings.maxNewTokens - 1);
      let drafts = lookupDraft(promptIds, firstDraft);
      if (drafts.length === 0 && firstDraft > 0) drafts = (tokenizer.encode(input.original.trimStart(), { add_special_tokens: false }) as number[]).slice(0, firstDraft);
      const prefilled = await decoder.prefill([...promptIds, ...drafts], PREFILL_CHUNK_TOKENS, () => Boolean(signal?.aborted), drafts.length + 1);
      counters.steps++;
      countDrafts(drafts);
      // A step's rows: row i chooses the token in drafts[i]'s place; the row after the last draft is a bonus.
      let rows = split(prefilled, drafts.length + 1);
      while (rows.length > 0 && !signal?.aborted) {
        let done = false;
        for (let i = 0; i < rows.length && !done; i++) {
          const choice = chooseToken(rows[i].logits, sequence, settings, random, rows[i].logSumExp);
          done = emit(choice);
          if (i < drafts.length && choice.token === drafts[i]) speculation.accepted++;
          else break; // the chosen token replaces the rejected draft; what followed it is moot
        }
        if (done) break;
        // The cache holds every emitted token but the last (the next pass's input).
        await decoder.truncate(sequence.length - 1);
        if (signal?.aborted) break;
        const room = settings.maxNewTokens - tokenIds.length - 1; // a pass emits up to drafts + 1
        drafts = lookupDraft(sequence, Math.min(maxDraft, room));
        const pass = await decoder.forward([sequence[sequence.length - 1], ...drafts]);
        counters.steps++;
        countDrafts(drafts);
        if (signal?.aborted) {
          counters.stepsAfterAbort++; // this pass's tokens are discarded
          break;
        }
        rows = split(pass, drafts.length + 1);
      }
    }
  } finally {
    decoder.dispose();
    for (const key of ['verifySteps', 'drafted', 'accepted'] as const) counters[key] = (counters[key] ?? 0) + speculation[key];
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
