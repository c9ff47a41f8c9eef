// Brings records written by earlier schema versions up to the current one. Old lines stay on disk
// as they are until a compaction rewrites them in the current layout.
import { DEFAULT_FOLLOWER_INSTRUCTION, presetFor } from '../models/prompts';
import { DOCUMENT_KINDS, type DocumentKind } from '../base/generation-record';
import { SCHEMA_VERSION, type Decision, type FollowerRound, type GenerationInfo, type PromptParts, type SessionRecord, type StoreRecord } from './schema';
import { SchemaError, validateRecord } from './validate';

/** Version 1: the first layout. Sessions only, flat generation fields, epoch-millisecond times. */
export interface SessionRecordV1 {
  schemaVersion: 1;
  id: string;
  workspace: string;
  /** Epoch milliseconds of creation; v1 kept no other time. */
  time: number;
  language: string;
  preset: string;
  context: string;
  instruction: string;
  draft: string;
  draftFromLeader: boolean;
  refinements: { text: string; logprobs: number[]; model: string; temperature: number; topP: number; ms: number }[];
  /** Index of the accepted refinement, -1 when all were rejected, null while undecided. */
  accepted: number | null;
  /** The text the user kept, when it differs from the accepted refinement. */
  finalText?: string;
}

type Migration = (record: Record<string, unknown>) => Record<string, unknown>;

function v1ToV2(raw: Record<string, unknown>): Record<string, unknown> {
  const r = raw as unknown as SessionRecordV1;
  if (typeof r.time !== 'number' || !Array.isArray(r.refinements)) {
    throw new SchemaError('version 1 record needs a numeric time and a refinements array');
  }
  const at = new Date(r.time).toISOString();
  const rounds: Omit<FollowerRound, 'prompt'>[] = r.refinements.map((f) => ({
    text: f.text,
    modelId: f.model,
    adapterVersion: null,
    // v1 recorded only temperature and top-p; the rest are the settings that disable a sampler.
    sampling: { temperature: f.temperature, topP: f.topP, topK: 0, repetitionPenalty: 1, seed: null, maxNewTokens: null },
    logprobs: f.logprobs,
    timings: { startedAt: at, totalMs: f.ms },
  }));
  // v1 kept one time per record, so the decision time is the best-known one: creation.
  let decision: Decision = { kind: 'pending' };
  if (r.accepted === -1) decision = { kind: 'rejected', decidedAt: at };
  else if (typeof r.accepted === 'number') {
    const edited = r.finalText !== undefined && r.finalText !== rounds[r.accepted]?.text;
    decision = edited
      ? { kind: 'accepted-edited', round: r.accepted, finalText: r.finalText as string, decidedAt: at }
      : { kind: 'accepted', round: r.accepted, decidedAt: at };
  }
  return {
    kind: 'session',
    schemaVersion: 2,
    id: r.id,
    workspace: r.workspace,
    createdAt: at,
    updatedAt: at,
    languageId: r.language,
    preset: r.preset,
    context: r.context,
    instruction: r.instruction,
    draft: { text: r.draft, source: r.draftFromLeader ? 'leader' : 'user' },
    rounds,
    decision,
  };
}

/** Version 2 sessions, before rounds recorded their prompts. */
type SessionRecordV2 = Omit<SessionRecord, 'schemaVersion' | 'rounds' | 'draft'> & {
  schemaVersion: 2;
  draft: { text: string; source: 'user' | 'leader'; generation?: Omit<GenerationInfo, 'prompt'> };
  rounds: Omit<FollowerRound, 'prompt'>[];
};

/**
 * Version 3 records each generation's prompt. Version 2 kept none, so it is reconstructed as the
 * refiner built it: round k refines round k-1's text (round 1 the draft) under the session's preset,
 * instruction and context, with the default follower instruction (a custom one was never stored).
 * Without the generating tokenizer the rendered text and token ids stay unknown.
 */
function v2ToV3(raw: Record<string, unknown>): Record<string, unknown> {
  if (raw.kind !== 'session') return { ...raw, schemaVersion: 3 };
  const r = raw as unknown as SessionRecordV2;
  if (!Array.isArray(r.rounds) || typeof r.draft !== 'object' || r.draft === null) throw new SchemaError('version 2 session needs a draft and a rounds array');
  const preset: DocumentKind = DOCUMENT_KINDS.includes(r.preset as DocumentKind) ? (r.preset as DocumentKind) : presetFor(r.languageId, r.draft.text).kind;
  const x: PromptParts = { preset, instruction: r.instruction, context: r.context };
  const rounds = r.rounds.map((round, k) => ({
    ...round,
    prompt: { ...x, followerInstruction: DEFAULT_FOLLOWER_INSTRUCTION, refined: k === 0 ? r.draft.text : r.rounds[k - 1].text },
  }));
  const draft = r.draft.generation ? { ...r.draft, generation: { ...r.draft.generation, prompt: x } } : r.draft;
  return { ...r, schemaVersion: 3, draft, rounds };
}

/** migrations[v] turns a version-v record into a version v+1 record. */
const migrations: Record<number, Migration> = { 1: v1ToV2, 2: v2ToV3 };

/** Upgrades a parsed record of any known version and validates it; throws SchemaError otherwise. */
export function upgradeRecord(value: unknown): StoreRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SchemaError('record must be an object');
  let record = value as Record<string, unknown>;
  const found = record.schemaVersion;
  if (typeof found !== 'number' || !Number.isInteger(found) || found < 1) {
    throw new SchemaError(`record has no valid schemaVersion (got ${JSON.stringify(found)})`);
  }
  let version: number = found;
  if (version > SCHEMA_VERSION) {
    throw new SchemaError(`record was written by a newer SLHF Refine (schema ${version}, this one reads up to ${SCHEMA_VERSION}); update the extension to read it`);
  }
  while (version < SCHEMA_VERSION) {
    try {
      record = migrations[version](record);
    } catch (err) {
      if (err instanceof SchemaError) throw err;
      throw new SchemaError(`version ${version} record could not be migrated: ${(err as Error).message}`);
    }
    version = record.schemaVersion as number;
  }
  return validateRecord(record);
}
