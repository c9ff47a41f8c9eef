// What the refiner refuses before any model runs: empty, binary or undecodable text, and prompts
// that do not fit the model's context or the memory the refiner may use.
import { formatGiB } from '../base/child-process';
import { RefinerInputError } from './refiner-settings';

/**
 * Prompt tokens per prefill pass (kv-decoder.ts): bounds one pass's attention scores, activations and
 * logits. Here, not in kv-decoder.ts, because the extension host imports this file and must not load
 * ONNX Runtime.
 */
export const PREFILL_CHUNK_TOKENS = 256;

/** Decodes bytes as UTF-8, refusing invalid sequences instead of replacing them. */
export function decodeUtf8Strict(bytes: Uint8Array, what = 'The input'): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new RefinerInputError(`${what} is not valid UTF-8 text (binary data?); refusing to refine it.`);
  }
}

/** Refuses text a model should not see: empty, NUL bytes, replacement characters, lone surrogates. */
export function checkText(text: string, what = 'The draft'): void {
  if (text.trim() === '') throw new RefinerInputError(`${what} is empty; select some text to refine.`);
  if (text.includes('\u0000')) throw new RefinerInputError(`${what} contains NUL bytes (binary data?); refusing to refine it.`);
  if (text.includes('\uFFFD')) {
    throw new RefinerInputError(`${what} contains U+FFFD replacement characters, so it was not decoded cleanly (binary data or a wrong encoding?); refusing to refine it.`);
  }
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text)) {
    throw new RefinerInputError(`${what} contains unpaired UTF-16 surrogates (undecodable text); refusing to refine it.`);
  }
}

/** The prompt plus every token that may be generated must fit in the model's context. */
export function checkContext(promptTokens: number, maxNewTokens: number, contextLength: number, role: string): void {
  if (promptTokens + maxNewTokens <= contextLength) return;
  throw new RefinerInputError(
    `The ${role} prompt is too long: ${promptTokens} prompt tokens + ${maxNewTokens} new tokens (maxNewTokens) exceed ` +
      `the model's context of ${contextLength} tokens. Shorten the text by at least ${promptTokens + maxNewTokens - contextLength} ` +
      `tokens or lower maxNewTokens.`,
  );
}

export function memoryExceededMessage(limitBytes: number): string {
  return `The refinement needed more than ${formatGiB(limitBytes)} of memory and was stopped; refine a shorter selection.`;
}

/** The sizes that decide a model's working memory, from its config.json. */
export interface ModelDims {
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  hidden: number;
  intermediate: number;
  vocab: number;
}

export function modelDims(config: any): ModelDims {
  const c = config?.text_config ?? config ?? {};
  const heads = c.num_attention_heads ?? 1;
  const hidden = c.hidden_size ?? 0;
  return {
    layers: c.num_hidden_layers ?? 1, heads, kvHeads: c.num_key_value_heads ?? heads, headDim: c.head_dim ?? Math.ceil(hidden / heads),
    hidden, intermediate: c.intermediate_size ?? 4 * hidden, vocab: c.vocab_size ?? 0,
  };
}

/**
 * Bytes one generation adds on top of the loaded model, at its peak (the prefill), in float32.
 * The prompt runs in chunks of PREFILL_CHUNK_TOKENS (kv-decoder.ts), so the largest pass is the last
 * one: c = min(n, chunk) new tokens against all n. Its attention scores are heads x c x n (ORT's CPU
 * GroupQueryAttention); we count them 7 times, fitted so the estimate stays above what was measured
 * on the 4-head built-in model (peak RSS growth of one generation, maxNewTokens 2: 2,036 prompt
 * tokens added 58 MiB, 4,200 added 117 MiB, 8,428 added 241 MiB; estimated 67, 135, 267), which covers the per-token work outside the model. Before chunking the scores were heads x n x n
 * (8,400 tokens peaked at 3.9 GB in issue 18). Then the logits of a pass (c x vocab at most),
 * per-token activations, and the KV cache of every token of prompt and answer, held twice (the past
 * and the present a pass writes).
 */
export function generationBytes(d: ModelDims, promptTokens: number, maxNewTokens: number): number {
  const n = promptTokens;
  const c = Math.min(n, PREFILL_CHUNK_TOKENS);
  const attention = 7 * d.heads * c * n;
  const logits = c * d.vocab;
  const activations = 4 * c * (d.hidden + d.intermediate + (d.heads + 2 * d.kvHeads) * d.headDim);
  const kv = 2 * 2 * d.layers * d.kvHeads * d.headDim * (n + maxNewTokens);
  return 4 * (attention + logits + activations + kv);
}

/** The longest prompt (tokens) whose generation fits in `bytes`, for the refusal message. */
export function largestPrompt(d: ModelDims, maxNewTokens: number, bytes: number): number {
  let lo = 0;
  let hi = 1 << 24;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (generationBytes(d, mid, maxNewTokens) <= bytes) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Refuses, before the prefill starts, a generation whose estimated peak would not fit under the
 * memory cap next to what the process already holds. The estimate is conservative; the cap itself
 * is enforced by killing the process (the estimate's job is the clear message, ahead of time).
 */
export function checkMemoryBudget(input: { dims: ModelDims; promptTokens: number; maxNewTokens: number; role: string; limitBytes: number; residentBytes: number }): void {
  const { dims, promptTokens, maxNewTokens, role, limitBytes, residentBytes } = input;
  const need = generationBytes(dims, promptTokens, maxNewTokens);
  const available = Math.max(0, limitBytes - residentBytes);
  if (need <= available) return;
  const fits = largestPrompt(dims, maxNewTokens, available);
  throw new RefinerInputError(
    `The ${role} prompt is too long for the memory available: ${promptTokens} prompt tokens + ${maxNewTokens} new tokens would need about ` +
      `${formatGiB(need)}, and the refiner may use ${formatGiB(limitBytes)} (${formatGiB(available)} beside the loaded model). ` +
      `Refine a shorter selection (at most about ${fits} tokens of prompt here), in parts, or lower maxNewTokens.`,
  );
}

/**
 * A generation whose working memory (generationBytes) would pass this is split into pieces when its
 * text can be split, even where the cap would allow it: its memory grows with the prompt (each
 * prefill chunk's attention against the whole prompt, the KV cache) and its time with the square of
 * the prompt, a text in pieces only linearly. 1 GiB leaves pieces of several thousand tokens, and keeps
 * `slhf refine` of 20,000 characters well under 2.5 GB (docs/limits.md).
 */
export const SPLIT_ABOVE_BYTES = 2 ** 30;

/**
 * The most prompt tokens one generation may take: the model's context less maxNewTokens, and what
 * fits in the memory left beside the loaded model (the two checks generateText makes), at most
 * `ceilingBytes` of working memory. A text whose prompt is longer is refined in pieces (split-round.ts).
 */
export function promptTokenBudget(input: { dims: ModelDims; contextLength: number; maxNewTokens: number; limitBytes: number; residentBytes: number; ceilingBytes?: number }): number {
  const { dims, contextLength, maxNewTokens, limitBytes, residentBytes } = input;
  const bytes = Math.min(Math.max(0, limitBytes - residentBytes), input.ceilingBytes ?? Infinity);
  return Math.max(0, Math.min(contextLength - maxNewTokens, largestPrompt(dims, maxNewTokens, bytes)));
}

/** The refusal of a text that cannot be split into pieces that fit: one sentence is too long on its own. */
export function unsplittableMessage(role: string, sentence: string, promptTokens: number, budget: number, maxNewTokens: number): string {
  const opening = sentence.length > 60 ? `${sentence.slice(0, 60)}…` : sentence;
  return `One sentence is too long for the ${role} model even on its own: refining ${JSON.stringify(opening)} (${sentence.length} characters) ` +
    `takes a prompt of ${promptTokens} tokens, and this model takes at most ${budget} here (its context and the memory available, with ` +
    `${maxNewTokens} new tokens). Longer texts are refined in parts, paragraph by paragraph or sentence by sentence; break this sentence up ` +
    `(or select less), or lower maxNewTokens.`;
}
