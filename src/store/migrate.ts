// Brings records written by earlier schema versions up to the current one. Old lines stay on disk
// as they are until a compaction rewrites them in the current layout.
import { SCHEMA_VERSION, type Decision, type FollowerRound, type StoreRecord } from './schema';
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
  const rounds: FollowerRound[] = r.refinements.map((f) => ({
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

/** migrations[v] turns a version-v record into a version v+1 record. */
const migrations: Record<number, Migration> = { 1: v1ToV2 };

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
