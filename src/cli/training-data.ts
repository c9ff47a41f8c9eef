// Store pairs → the trainer's tokenized pairs: Leader and Follower prompts rendered as the refiner
// renders them at generation time (so recorded behaviour log-probs refer to the same context), and
// completions as the recorded token ids when present, else the tokenized text plus end-of-turn.
import { basename, dirname } from 'node:path';
import { followerMessages, leaderMessages, presetFor, PRESETS, renderPrompt, type ChatMessage, type DocumentKind } from '../refiner';
import type { PairSide, PreferencePair } from '../store';
import type { TokenSide, TrainingPair } from '../training';

export interface TextTokenizer {
  encode(text: string, options: { add_special_tokens: boolean }): number[];
  decode(ids: number[], options: { skip_special_tokens: boolean }): string;
  apply_chat_template(messages: ChatMessage[], options: Record<string, unknown>): unknown;
  chat_template?: unknown;
}

/** The model folder's tokenizer, offline, through transformers.js. */
export async function loadTokenizer(modelDir: string): Promise<TextTokenizer> {
  const { env, AutoTokenizer } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = dirname(modelDir);
  return (await AutoTokenizer.from_pretrained(basename(modelDir))) as unknown as TextTokenizer;
}

const asMessages = (value: string | { role: string; content: string }[]): ChatMessage[] =>
  typeof value === 'string' ? [{ role: 'user', content: value }] : value.map((m) => ({ role: m.role as ChatMessage['role'], content: m.content }));
const completionText = (value: string | { role: string; content: string }[]): string =>
  typeof value === 'string' ? value : value.filter((m) => m.role === 'assistant').map((m) => m.content).join('\n') || value.map((m) => m.content).join('\n');

export function tokenizePairs(pairs: PreferencePair[], tokenizer: TextTokenizer, endOfTurn: number): TrainingPair[] {
  const encodePrompt = (messages: ChatMessage[]) => {
    const rendered = renderPrompt(tokenizer, messages);
    return tokenizer.encode(rendered.text, { add_special_tokens: rendered.addSpecialTokens });
  };
  const side = (s: PairSide): TokenSide => {
    const kind = s.origin === 'draft' ? 'draft' : s.origin === 'round' ? 'refinement' : 'other';
    // Recorded ids carry the behaviour log-probs one to one; retokenized text does not.
    if (s.tokenIds && s.tokenIds.length > 0) {
      const behaviour = s.logprobs && s.logprobs.length === s.tokenIds.length ? s.logprobs : null;
      return { ids: s.tokenIds, kind, behaviour };
    }
    return { ids: [...tokenizer.encode(completionText(s.text), { add_special_tokens: false }), endOfTurn], kind, behaviour: null };
  };
  return pairs.map((pair) => {
    let leaderPrompt: number[];
    let followerPrompt: number[];
    if (pair.session) {
      const { context, instruction, draft, languageId, preset } = pair.session;
      const x = { preset: PRESETS[preset as DocumentKind] ?? presetFor(languageId, draft.text), instruction, context };
      leaderPrompt = encodePrompt(leaderMessages(x));
      followerPrompt = encodePrompt(followerMessages(x, draft.text));
    } else {
      leaderPrompt = encodePrompt(asMessages(pair.prompt));
      followerPrompt = leaderPrompt;
    }
    return { id: pair.id, leaderPrompt, followerPrompt, chosen: side(pair.chosen), rejected: side(pair.rejected) };
  });
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
