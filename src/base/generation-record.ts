// What a generation records about how it was made. The refiner fills these in, the store keeps them and
// training replays them, so they live in the floor below all three. The document kinds are part of the
// record (a preset's name), so they are listed here too; src/models/prompts.ts gives each its prompt.

/** The presets' names. */
export type DocumentKind = 'prose' | 'code-comment' | 'commit-message' | 'docstring';
export const DOCUMENT_KINDS: readonly DocumentKind[] = ['prose', 'code-comment', 'commit-message', 'docstring'];

/** The two players of the game: the Leader drafts, the Follower refines a draft. */
export type Role = 'leader' | 'follower';

export interface SamplingSettings {
  temperature: number;
  topP: number;
  /** 0 disables top-k. */
  topK: number;
  /** 1 disables the penalty. */
  repetitionPenalty: number;
  /** null when sampling was not seeded (or the seed is unknown, e.g. migrated records). */
  seed: number | null;
  /** null when unknown (migrated records). */
  maxNewTokens: number | null;
}

export interface GenerationTimings {
  /** ISO 8601 time the generation started. */
  startedAt: string;
  totalMs: number;
  /** From the start (prompt included) to the first generated token. */
  firstTokenMs?: number;
  /** Number of generated tokens, when the generator counted them. */
  tokens?: number;
  /** Generated tokens after the first, per second of decoding after the first. */
  tokensPerSecond?: number;
}

/**
 * What a prompt was built from: enough to render it again, for the model that generated or for
 * another tokenizer (see promptMessages in prompts.ts).
 */
export interface PromptParts {
  /** The preset's document kind (its system line and default instruction). */
  preset: DocumentKind;
  /** As given; empty means the preset's instruction. */
  instruction: string;
  context: string;
  /** Follower prompts only: the follower instruction in force (a custom one included). */
  followerInstruction?: string;
  /** Follower prompts only: the text being refined (the Leader's y, or the previous round). */
  refined?: string;
}

/** The exact prompt a generation was conditioned on. */
export interface GenerationPrompt extends PromptParts {
  /** The prompt as rendered for the generating model (chat template or plain); absent in migrated records. */
  text?: string;
  /** Its token ids as fed to the model; absent in migrated records. */
  tokenIds?: number[];
}
