// Checks that a value read from disk or from an import is a well-formed current-version record.
// The checked value is returned as is, so fields added by a later minor change survive a rewrite.
import { DOCUMENT_KINDS } from '../base/generation-record';
import { DECISION_KINDS, SCHEMA_VERSION, type ChatMessage, type StoreRecord } from './schema';

/** A record that does not match the schema; the message names the offending field. */
export class SchemaError extends Error {}

type Obj = Record<string, unknown>;

function fail(path: string, what: string): never {
  throw new SchemaError(`${path} ${what}`);
}

function object(value: unknown, path: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'must be an object');
  return value as Obj;
}

function string(o: Obj, key: string, path: string): string {
  if (typeof o[key] !== 'string') fail(`${path}.${key}`, 'must be a string');
  return o[key] as string;
}

function isoTime(o: Obj, key: string, path: string): void {
  const text = string(o, key, path);
  if (Number.isNaN(Date.parse(text))) fail(`${path}.${key}`, `must be an ISO 8601 time, got ${JSON.stringify(text)}`);
}

function number(o: Obj, key: string, path: string, opts: { integer?: boolean; min?: number; nullable?: boolean; optional?: boolean } = {}): void {
  const v = o[key];
  if (v === undefined && opts.optional) return;
  if (v === null && opts.nullable) return;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${path}.${key}`, 'must be a finite number');
  if (opts.integer && !Number.isInteger(v)) fail(`${path}.${key}`, 'must be an integer');
  if (opts.min !== undefined && v < opts.min) fail(`${path}.${key}`, `must be >= ${opts.min}`);
}

function numberArray(o: Obj, key: string, path: string, check: (n: number) => boolean, what: string): number[] | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) fail(`${path}.${key}`, 'must be an array');
  v.forEach((n, i) => {
    if (typeof n !== 'number' || !check(n)) fail(`${path}.${key}[${i}]`, `must be ${what}`);
  });
  return v as number[];
}

// Log-probs are <= 0; a little slack absorbs float rounding of log(1).
const isLogprob = (n: number) => Number.isFinite(n) && n <= 1e-6;
const isTokenId = (n: number) => Number.isInteger(n) && n >= 0;

function generationPrompt(value: unknown, path: string): void {
  const p = object(value, path);
  if (!DOCUMENT_KINDS.includes(p.preset as never)) fail(`${path}.preset`, `must be one of ${DOCUMENT_KINDS.join(', ')}`);
  string(p, 'instruction', path);
  string(p, 'context', path);
  for (const key of ['followerInstruction', 'refined', 'text']) if (p[key] !== undefined) string(p, key, path);
  if ((p.followerInstruction === undefined) !== (p.refined === undefined)) fail(path, 'needs both followerInstruction and refined (a Follower prompt) or neither');
  numberArray(p, 'tokenIds', path, isTokenId, 'a non-negative integer');
}

function generation(value: unknown, path: string, logprobsRequired: boolean): void {
  const g = object(value, path);
  // Follower rounds always record their prompt; a Leader draft does from schema 3 on.
  if (g.prompt !== undefined || logprobsRequired) generationPrompt(g.prompt, `${path}.prompt`);
  string(g, 'modelId', path);
  if (g.adapterVersion !== null && typeof g.adapterVersion !== 'string') fail(`${path}.adapterVersion`, 'must be a string or null');
  const s = object(g.sampling, `${path}.sampling`);
  const sp = `${path}.sampling`;
  number(s, 'temperature', sp, { min: 0 });
  number(s, 'topP', sp, { min: 0 });
  number(s, 'topK', sp, { integer: true, min: 0 });
  number(s, 'repetitionPenalty', sp, { min: 0 });
  number(s, 'seed', sp, { integer: true, nullable: true });
  number(s, 'maxNewTokens', sp, { integer: true, min: 0, nullable: true });
  const tokens = numberArray(g, 'tokenIds', path, isTokenId, 'a non-negative integer');
  const logprobs = numberArray(g, 'logprobs', path, isLogprob, 'a finite log-probability (<= 0)');
  if (logprobsRequired && logprobs === undefined) fail(`${path}.logprobs`, 'is required');
  if (tokens && logprobs && tokens.length !== logprobs.length) {
    fail(path, `has ${tokens.length} tokenIds but ${logprobs.length} logprobs`);
  }
  if (g.timings !== undefined || logprobsRequired) {
    const t = object(g.timings, `${path}.timings`);
    isoTime(t, 'startedAt', `${path}.timings`);
    number(t, 'totalMs', `${path}.timings`, { min: 0 });
    number(t, 'firstTokenMs', `${path}.timings`, { min: 0, optional: true });
    number(t, 'tokens', `${path}.timings`, { integer: true, min: 0, optional: true });
    number(t, 'tokensPerSecond', `${path}.timings`, { min: 0, optional: true });
  }
}

function isMessage(m: unknown): m is ChatMessage {
  return typeof m === 'object' && m !== null && typeof (m as Obj).role === 'string' && typeof (m as Obj).content === 'string';
}

/** Checks a prompt or completion: a string or a list of {role, content} messages. */
export function checkText(value: unknown, path: string): void {
  if (typeof value === 'string') return;
  if (!Array.isArray(value)) fail(path, 'must be a string or a list of chat messages');
  value.forEach((m, i) => {
    if (!isMessage(m)) fail(`${path}[${i}]`, 'must be a chat message {"role": string, "content": string}');
  });
}

function session(r: Obj): void {
  const p = 'record';
  isoTime(r, 'createdAt', p);
  isoTime(r, 'updatedAt', p);
  for (const key of ['languageId', 'preset', 'context', 'instruction']) string(r, key, p);
  const draft = object(r.draft, 'draft');
  string(draft, 'text', 'draft');
  if (draft.source !== 'user' && draft.source !== 'leader') fail('draft.source', "must be 'user' or 'leader'");
  if (draft.generation !== undefined) generation(draft.generation, 'draft.generation', false);
  if (!Array.isArray(r.rounds)) fail('rounds', 'must be an array');
  r.rounds.forEach((round, i) => {
    string(object(round, `rounds[${i}]`), 'text', `rounds[${i}]`);
    generation(round, `rounds[${i}]`, true);
  });
  const d = object(r.decision, 'decision');
  if (!DECISION_KINDS.includes(d.kind as never)) fail('decision.kind', `must be one of ${DECISION_KINDS.join(', ')}`);
  if (d.kind === 'pending') return;
  isoTime(d, 'decidedAt', 'decision');
  if (d.kind === 'rejected') return;
  if (d.kind === 'undone') isoTime(d, 'acceptedAt', 'decision');
  number(d, 'round', 'decision', { integer: true, min: 0 });
  if ((d.round as number) >= r.rounds.length) fail('decision.round', `is ${d.round} but the session has ${r.rounds.length} rounds`);
  if (d.kind === 'accepted-edited') string(d, 'finalText', 'decision');
}

/** Returns the value typed as a record, or throws SchemaError naming the first bad field. */
export function validateRecord(value: unknown): StoreRecord {
  const r = object(value, 'record');
  if (r.schemaVersion !== SCHEMA_VERSION) fail('record.schemaVersion', `must be ${SCHEMA_VERSION}`);
  const id = string(r, 'id', 'record');
  if (id === '') fail('record.id', 'must not be empty');
  string(r, 'workspace', 'record');
  if (r.kind === 'session') session(r);
  else if (r.kind === 'imported-pair') {
    isoTime(r, 'importedAt', 'record');
    string(r, 'source', 'record');
    checkText(r.prompt, 'prompt');
    checkText(r.chosen, 'chosen');
    checkText(r.rejected, 'rejected');
  } else fail('record.kind', "must be 'session' or 'imported-pair'");
  return r as unknown as StoreRecord;
}
