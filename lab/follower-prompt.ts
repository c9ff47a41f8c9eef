// The prompt the refiner gives the Follower for a draft (the prose preset), as token ids: the
// recipe trains the built-in model on it and the benches score that model on it, so both render it
// here, the refiner's way (src/models/prompts).
import { followerMessages, PRESETS, renderPrompt } from '../src/models/prompts';
import type { TextTokenizer } from '../src/models/tokenizer';

/** The Follower's prompt for `draft`, rendered exactly as the refiner renders it. */
export function promptIds(tokenizer: TextTokenizer, draft: string): number[] {
  const rendered = renderPrompt(tokenizer, followerMessages({ preset: PRESETS.prose }, draft));
  return tokenizer.encode(rendered.text, { add_special_tokens: rendered.addSpecialTokens });
}
