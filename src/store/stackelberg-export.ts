// The store as the prompt dataset the authors' StackelbergGDA trainer (lasgroup/stackelberg-learning)
// starts from: one row per context with `prompt_id` and `prompt` (chat messages), the two columns its
// online trainer reads; there the Leader samples fresh drafts and a judge scores them (docs/scale-out.md).
// The prompt is the Leader's conversation exactly as the refiner built it, so the trainer's Follower
// prompt (prompt + the draft as the assistant's turn + the follower instruction) is the one used here.
// `drafts` lists the Leader's answers seen here (the user's text or a model's draft); the trainer
// passes extra columns through unused, and they seed offline or Follower-only experiments.
import { createHash } from 'node:crypto';
import { contextOf, DEFAULT_FOLLOWER_INSTRUCTION, promptMessages, type ChatMessage } from '../models/prompts';
import { asMessages } from './game';
import { sessionPrompt } from './pairs';
import type { SessionRecord, StoreRecord } from './schema';

export const STACKELBERG_PROMPTS_FORMAT = 'stackelberg-prompts';

export interface StackelbergPromptRow {
  prompt_id: string;
  prompt: ChatMessage[];
  drafts: string[];
}

/** The Leader's prompt x of a session: as recorded with its first round (or its model draft), else instruction + context. */
function leaderPrompt(record: SessionRecord): ChatMessage[] {
  const parts = record.rounds[0]?.prompt ?? record.draft.generation?.prompt;
  return parts ? promptMessages(contextOf(parts)) : (sessionPrompt(record) as ChatMessage[]);
}

/**
 * One row per distinct prompt (pending sessions included: a context needs no decision to be trained
 * on online), in first-seen order, and the follower instructions the sessions used: the trainer takes
 * one (`--follower_prompt`), so more than one means the export mixes refiner settings.
 */
export function stackelbergPromptRows(records: StoreRecord[]): { rows: StackelbergPromptRow[]; followerInstructions: string[] } {
  const rows = new Map<string, StackelbergPromptRow>();
  const instructions = new Set<string>();
  for (const record of records) {
    const prompt = record.kind === 'session' ? leaderPrompt(record) : asMessages(record.prompt);
    const key = JSON.stringify(prompt);
    const row = rows.get(key) ?? { prompt_id: createHash('sha256').update(key).digest('hex').slice(0, 16), prompt, drafts: [] };
    rows.set(key, row);
    if (record.kind !== 'session') continue;
    if (!row.drafts.includes(record.draft.text)) row.drafts.push(record.draft.text);
    if (record.rounds[0]) instructions.add(record.rounds[0].prompt.followerInstruction ?? DEFAULT_FOLLOWER_INSTRUCTION);
  }
  return { rows: [...rows.values()], followerInstructions: [...instructions] };
}
