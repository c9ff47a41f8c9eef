// What the refiner refuses before any model runs: empty, binary or undecodable text, and prompts
// that do not fit the model's context.
import { RefinerInputError } from './settings';

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
