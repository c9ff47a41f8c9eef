// Leader and Follower prompts. The Leader sees the context x (a system line for the document kind,
// the instruction, the surrounding text); the Follower sees the same conversation with the draft as
// the assistant's turn, then the follower instruction as a user turn (the SLHF reference format).
// A model-format concern: the refiner renders them to generate, the store to replay what generated
// a text, and training to tokenize it.
import { DOCUMENT_KINDS, type DocumentKind, type PromptParts } from '../base/generation-record';
import { checkChatTemplate, TemplateBudgetError } from './template-budget';

export const DEFAULT_FOLLOWER_INSTRUCTION = 'Improve the previous answer. Phrase it as if it was the original response.';

export interface Preset {
  kind: DocumentKind;
  /** Says what kind of text is being written; part of the context for both roles. */
  system: string;
  /** The Leader's task when the user gave no instruction. */
  instruction: string;
}

export const PRESETS: Record<DocumentKind, Preset> = {
  prose: {
    kind: 'prose',
    system: 'You write clear, well-phrased prose.',
    instruction: 'Write the passage.',
  },
  'code-comment': {
    kind: 'code-comment',
    system: 'You write concise code comments that explain why the code does what it does. Answer with the comment only, in the comment syntax of the code.',
    instruction: 'Write the comment.',
  },
  'commit-message': {
    kind: 'commit-message',
    system: 'You write git commit messages: a summary line of at most 72 characters in the imperative mood, a blank line, then a body that explains what changed and why.',
    instruction: 'Write the commit message.',
  },
  docstring: {
    kind: 'docstring',
    system: 'You write docstrings: what the function or class does, its parameters, its return value and the errors it raises, in the style of the surrounding code. Answer with the docstring only.',
    instruction: 'Write the docstring.',
  },
};

const PROSE_LANGUAGES = new Set(['plaintext', 'markdown', 'restructuredtext', 'latex', 'tex', 'asciidoc', 'org', 'html', 'mdx']);
const COMMIT_LANGUAGES = new Set(['git-commit', 'git-rebase', 'scminput']);

/**
 * The preset for a VS Code language id: prose languages, commit messages, and code (a comment,
 * or a docstring when the text opens like one). An explicit kind wins.
 */
export function presetFor(languageId: string | undefined, text = '', override?: DocumentKind): Preset {
  if (override) {
    if (!PRESETS[override]) throw new Error(`Unknown document kind ${JSON.stringify(override)}; use one of ${DOCUMENT_KINDS.join(', ')}.`);
    return PRESETS[override];
  }
  const id = (languageId ?? 'plaintext').toLowerCase();
  if (PROSE_LANGUAGES.has(id)) return PRESETS.prose;
  if (COMMIT_LANGUAGES.has(id)) return PRESETS['commit-message'];
  return /^\s*(r?"""|r?'''|\/\*\*)/.test(text) ? PRESETS.docstring : PRESETS['code-comment'];
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface PromptContext {
  preset: Preset;
  /** What the text should be; the preset's instruction when empty. */
  instruction?: string;
  /** Surrounding text the answer must fit into. */
  context?: string;
}

export function leaderMessages(x: PromptContext): ChatMessage[] {
  const instruction = x.instruction?.trim() || x.preset.instruction;
  const user = x.context?.trim() ? `${instruction}\n\nContext:\n${x.context.trim()}` : instruction;
  return [
    { role: 'system', content: x.preset.system },
    { role: 'user', content: user },
  ];
}

export function followerMessages(x: PromptContext, draft: string, followerInstruction = DEFAULT_FOLLOWER_INSTRUCTION): ChatMessage[] {
  return refinementMessages(leaderMessages(x), draft, followerInstruction);
}

/** The Follower's turn on any Leader conversation: the text to refine as the answer, then the instruction. */
export function refinementMessages(leader: ChatMessage[], draft: string, followerInstruction = DEFAULT_FOLLOWER_INSTRUCTION): ChatMessage[] {
  return [...leader, { role: 'assistant', content: draft.trim() }, { role: 'user', content: followerInstruction }];
}

/** The Leader's context x of a recorded prompt (a Follower prompt without the text it refines). */
export function contextOf(parts: PromptParts): PromptParts {
  return { preset: parts.preset, instruction: parts.instruction, context: parts.context };
}

/** The messages a recorded prompt was rendered from: the Follower's when it refines a text, else the Leader's. */
export function promptMessages(parts: PromptParts): ChatMessage[] {
  const x = { preset: PRESETS[parts.preset], instruction: parts.instruction, context: parts.context };
  return parts.refined === undefined ? leaderMessages(x) : followerMessages(x, parts.refined, parts.followerInstruction);
}

/** The plain-text template for models without a chat template, and where its answers end. */
export const PLAIN_STOP_STRINGS = ['\nUser:', '\nSystem:'];

export function plainTemplate(messages: ChatMessage[]): string {
  const name = { system: 'System', user: 'User', assistant: 'Assistant' } as const;
  return messages.map((m) => `${name[m.role]}: ${m.content}\n`).join('\n') + '\nAssistant:';
}

/** The part of a transformers.js tokenizer prompts need. */
export interface ChatTokenizer {
  chat_template?: unknown;
  /** tokenizer_config.json as loaded (transformers.js): the special tokens a template may use. */
  config?: unknown;
  apply_chat_template(messages: ChatMessage[], options: Record<string, unknown>): unknown;
}

export interface RenderedPrompt {
  text: string;
  template: 'model' | 'plain';
  /** Whether the tokenizer should still add its special tokens (the chat template already has them). */
  addSpecialTokens: boolean;
  stopStrings: string[];
}

export function renderPrompt(tokenizer: ChatTokenizer, messages: ChatMessage[]): RenderedPrompt {
  if (tokenizer.chat_template) {
    // enable_thinking: Qwen3-style templates then open the answer without a reasoning block.
    const options = { tokenize: false, add_generation_prompt: true, enable_thinking: false };
    const apply = (m: ChatMessage[]) => {
      // A bounded dry run first: a hostile template cannot be stopped once the real render runs.
      checkChatTemplate(tokenizer, m, options);
      return tokenizer.apply_chat_template(m, options) as string;
    };
    let text: string;
    try {
      text = apply(messages);
    } catch (err) {
      // Some templates (Gemma's) refuse a system turn; fold it into the first user turn instead.
      if (messages[0]?.role !== 'system' || err instanceof TemplateBudgetError) throw err;
      const [system, first, ...rest] = messages;
      text = apply([{ role: 'user', content: `${system.content}\n\n${first.content}` }, ...rest]);
    }
    return { text, template: 'model', addSpecialTokens: false, stopStrings: [] };
  }
  return { text: plainTemplate(messages), template: 'plain', addSpecialTokens: true, stopStrings: PLAIN_STOP_STRINGS };
}
