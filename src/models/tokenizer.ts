// A model folder's tokenizer, offline, through transformers.js: what renders prompts (chat template)
// and turns texts into the ids training scores.
import { basename, dirname } from 'node:path';
import { checkModelFolder, openCheckpoint } from './checkpoint';
import { followerMessages, PRESETS, renderPrompt, type ChatMessage } from './prompts';

export interface TextTokenizer {
  encode(text: string, options: { add_special_tokens: boolean }): number[];
  decode(ids: number[], options: { skip_special_tokens: boolean }): string;
  apply_chat_template(messages: ChatMessage[], options: Record<string, unknown>): unknown;
  chat_template?: unknown;
}

/**
 * The tokenizer and the end tokens training needs: `endOfTurn` ends a retokenized completion (the
 * model's last end-of-sequence id), `eos` are all of them.
 */
export async function trainingTokenizer(modelDir: string): Promise<{ tokenizer: TextTokenizer; endOfTurn: number; eos: number[] }> {
  const checkpoint = await openCheckpoint(modelDir, { requireTokenizer: true });
  await checkpoint.close();
  const { eosTokenIds, padTokenId } = checkpoint.config;
  return { tokenizer: await loadTokenizer(modelDir), endOfTurn: eosTokenIds.at(-1) ?? padTokenId ?? 0, eos: eosTokenIds };
}

export async function loadTokenizer(modelDir: string): Promise<TextTokenizer> {
  checkModelFolder(modelDir); // transformers.js reads the files itself: no FIFOs, devices or huge files
  const { env, AutoTokenizer } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = dirname(modelDir);
  const tokenizer = await AutoTokenizer.from_pretrained(basename(modelDir));
  // transformers.js 4 keeps the parsed tokenizer.json (`_tokenizerJSON`) after building its own
  // tables from it and reads it nowhere else: 44 MB for Qwen's 151k-token vocabulary, resident for as
  // long as the model is loaded (BENCHMARKS.md, llama.cpp peer).
  delete (tokenizer as unknown as Record<string, unknown>)._tokenizerJSON;
  return tokenizer as unknown as TextTokenizer;
}

/**
 * The tokens that follow the draft in the Follower's prompt (end of the assistant turn, the follower
 * instruction, the next assistant header), so online training can build x + y + suffix in token
 * space. Templates render the same text after the draft for every context.
 */
export function followerSuffixIds(tokenizer: TextTokenizer): number[] {
  const marker = '\u2063DRAFT\u2063';
  const { text } = renderPrompt(tokenizer, followerMessages({ preset: PRESETS.prose, instruction: 'x' }, marker));
  const at = text.indexOf(marker);
  if (at < 0) throw new Error('the chat template does not place the draft verbatim; online training cannot build Follower prompts');
  return tokenizer.encode(text.slice(at + marker.length), { add_special_tokens: false });
}
