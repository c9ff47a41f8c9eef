// The store's record types: the one home of the schema. Version 3 is current; earlier layouts and
// their migrations live in migrate.ts.

export const SCHEMA_VERSION = 3;

export type { GenerationPrompt, GenerationTimings, PromptParts, SamplingSettings } from '../base/generation-record';
import type { GenerationPrompt, GenerationTimings, SamplingSettings } from '../base/generation-record';

/**
 * How a model produced a text. The refiner fills this in at generation time; `logprobs` are the
 * behaviour log-probs: per sampled token, log pi(token | prefix) at the sampling temperature, which
 * training needs for truncated importance weights.
 */
export interface GenerationInfo {
  modelId: string;
  /** Adapter (LoRA) version that was active; null for the base model. */
  adapterVersion: string | null;
  sampling: SamplingSettings;
  /** The prompt the text was generated from (required on Follower rounds). */
  prompt?: GenerationPrompt;
  tokenIds?: number[];
  logprobs?: number[];
  timings?: GenerationTimings;
}

/** The Leader's action y: the user's own text, or a Leader model's draft. */
export interface Draft {
  text: string;
  source: 'user' | 'leader';
  /** Present when source is 'leader'. */
  generation?: GenerationInfo;
}

/** One Follower round: round k refines round k-1 (round 1 the draft) under `prompt`. */
export interface FollowerRound extends GenerationInfo {
  text: string;
  prompt: GenerationPrompt;
  logprobs: number[];
  timings: GenerationTimings;
}

export type Decision =
  | { kind: 'pending' }
  | { kind: 'accepted'; round: number; decidedAt: string }
  | { kind: 'accepted-edited'; round: number; finalText: string; decidedAt: string }
  | { kind: 'rejected'; decidedAt: string }
  /** The user accepted `round`, then undid it and kept the draft: a change of decision, recorded when it happens. */
  | { kind: 'undone'; round: number; acceptedAt: string; decidedAt: string };

export type DecisionKind = Decision['kind'];
export const DECISION_KINDS: readonly DecisionKind[] = ['pending', 'accepted', 'accepted-edited', 'rejected', 'undone'];

/** One refinement session: a draft, the Follower's rounds, and what the user chose. */
export interface SessionRecord {
  kind: 'session';
  schemaVersion: typeof SCHEMA_VERSION;
  id: string;
  /** Tag of the workspace the session happened in (the UI chooses it, e.g. a hash of the folder). */
  workspace: string;
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601; the newest write of a record wins. */
  updatedAt: string;
  languageId: string;
  preset: string;
  context: string;
  instruction: string;
  draft: Draft;
  rounds: FollowerRound[];
  decision: Decision;
}

export interface ChatMessage {
  role: string;
  content: string;
}
/** A TRL prompt: plain text or a list of chat messages. */
export type Prompt = string | ChatMessage[];
/** A TRL completion: plain text or (conversational datasets) a list of chat messages. */
export type Completion = string | ChatMessage[];

/** A preference pair brought in from a dataset; it has no behaviour log-probs. */
export interface ImportedPairRecord {
  kind: 'imported-pair';
  schemaVersion: typeof SCHEMA_VERSION;
  /** Derived from the content, so importing a file twice adds nothing. */
  id: string;
  workspace: string;
  importedAt: string;
  /** Where it came from (the file's name). */
  source: string;
  prompt: Prompt;
  chosen: Completion;
  rejected: Completion;
}

export type StoreRecord = SessionRecord | ImportedPairRecord;

/** When a record was last written, for newest-first ordering and conflict resolution. */
export function recordTime(record: StoreRecord): string {
  return record.kind === 'session' ? record.updatedAt : record.importedAt;
}
