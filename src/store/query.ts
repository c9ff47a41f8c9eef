// The panel's queries over the records: filtered, paged lists and statistics. Pure functions over a
// snapshot, so they are tested without touching disk.
import { pairsOf } from './pairs';
import type { DecisionKind, SessionRecord, StoreRecord } from './schema';

export interface SessionQuery {
  /** One kind or several; 'accepted' does not include 'accepted-edited'. */
  decision?: DecisionKind | DecisionKind[];
  languageId?: string;
  workspace?: string;
  /**
   * Case-insensitive substring of what the History shows: the instruction, draft, any round or the
   * final text. Not the surrounding context, which it does not show (a hit there looked like a false match).
   */
  text?: string;
  offset?: number;
  /** Page size; default 50. */
  limit?: number;
}

export interface Page<T> {
  items: T[];
  /** Matches before paging. */
  total: number;
  offset: number;
}

function sessionTexts(r: SessionRecord): string[] {
  const texts = [r.instruction, r.draft.text, ...r.rounds.map((x) => x.text)];
  if (r.decision.kind === 'accepted-edited') texts.push(r.decision.finalText);
  return texts;
}

export function matches(r: SessionRecord, q: SessionQuery): boolean {
  if (q.decision !== undefined) {
    const kinds = Array.isArray(q.decision) ? q.decision : [q.decision];
    if (!kinds.includes(r.decision.kind)) return false;
  }
  if (q.languageId !== undefined && r.languageId !== q.languageId) return false;
  if (q.workspace !== undefined && r.workspace !== q.workspace) return false;
  if (q.text) {
    const needle = q.text.toLocaleLowerCase();
    if (!sessionTexts(r).some((t) => t.toLocaleLowerCase().includes(needle))) return false;
  }
  return true;
}

/** Sessions matching the query, newest (by creation) first; ties broken by id for stable pages. */
export function listSessions(records: Iterable<StoreRecord>, q: SessionQuery = {}): Page<SessionRecord> {
  const offset = Math.max(0, Math.floor(q.offset ?? 0));
  const limit = Math.max(0, Math.floor(q.limit ?? 50));
  const hits: SessionRecord[] = [];
  for (const r of records) if (r.kind === 'session' && matches(r, q)) hits.push(r);
  hits.sort((a, b) => (a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : Date.parse(b.createdAt) - Date.parse(a.createdAt)));
  return { items: hits.slice(offset, offset + limit), total: hits.length, offset };
}

/**
 * Sessions decided (or whose decision last changed, by an undo) after `sinceIso`; every decided
 * session when null. Training waits for these: a run without them would repeat the last one.
 */
export function decidedSince(records: Iterable<StoreRecord>, sinceIso: string | null): number {
  const since = sinceIso === null ? -Infinity : Date.parse(sinceIso);
  let count = 0;
  for (const r of records) if (r.kind === 'session' && r.decision.kind !== 'pending' && Date.parse(r.decision.decidedAt) > since) count++;
  return count;
}

export interface RateBucket {
  key: string;
  decided: number;
  accepted: number;
  /** accepted / decided; null when nothing was decided. */
  rate: number | null;
}

export interface StoreStats {
  sessions: number;
  importedPairs: number;
  byDecision: Record<DecisionKind, number>;
  /** Accepted (edited or not) over decided sessions. */
  acceptance: RateBucket;
  /** Per UTC day of the decision, oldest first. Key: YYYY-MM-DD. */
  perDay: RateBucket[];
  /** Per Follower version, key `modelId@adapterVersion` ('base' for no adapter). */
  perFollowerVersion: RateBucket[];
  pairs: { total: number; withBehaviourLogprobs: number; withoutBehaviourLogprobs: number; imported: number };
}

function bump(map: Map<string, RateBucket>, key: string, accepted: boolean): void {
  const b = map.get(key) ?? { key, decided: 0, accepted: 0, rate: null };
  b.decided++;
  if (accepted) b.accepted++;
  b.rate = b.accepted / b.decided;
  map.set(key, b);
}

/**
 * A decided session counts toward the Follower version that produced the round the user judged
 * last: the accepted (or accepted, then undone) round, or for a rejection the final round shown.
 */
function followerVersion(r: SessionRecord): string | undefined {
  const d = r.decision;
  const round = 'round' in d ? r.rounds[d.round] : r.rounds[r.rounds.length - 1];
  return round ? `${round.modelId}@${round.adapterVersion ?? 'base'}` : undefined;
}

export function computeStats(records: Iterable<StoreRecord>): StoreStats {
  const byDecision: Record<DecisionKind, number> = { pending: 0, accepted: 0, 'accepted-edited': 0, rejected: 0, undone: 0 };
  const overall = new Map<string, RateBucket>();
  const perDay = new Map<string, RateBucket>();
  const perVersion = new Map<string, RateBucket>();
  const stats: StoreStats = {
    sessions: 0, importedPairs: 0, byDecision, acceptance: { key: 'all', decided: 0, accepted: 0, rate: null },
    perDay: [], perFollowerVersion: [], pairs: { total: 0, withBehaviourLogprobs: 0, withoutBehaviourLogprobs: 0, imported: 0 },
  };
  for (const r of records) {
    for (const p of pairsOf(r)) {
      stats.pairs.total++;
      if (p.hasBehaviourLogprobs) stats.pairs.withBehaviourLogprobs++;
      else stats.pairs.withoutBehaviourLogprobs++;
      if (p.origin === 'imported') stats.pairs.imported++;
    }
    if (r.kind === 'imported-pair') {
      stats.importedPairs++;
      continue;
    }
    stats.sessions++;
    const d = r.decision;
    byDecision[d.kind]++;
    if (d.kind === 'pending') continue;
    // An undone acceptance ends with the draft kept: not an acceptance.
    const accepted = d.kind === 'accepted' || d.kind === 'accepted-edited';
    bump(overall, 'all', accepted);
    bump(perDay, new Date(d.decidedAt).toISOString().slice(0, 10), accepted);
    const version = followerVersion(r);
    if (version) bump(perVersion, version, accepted);
  }
  stats.acceptance = overall.get('all') ?? stats.acceptance;
  stats.perDay = [...perDay.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
  stats.perFollowerVersion = [...perVersion.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
  return stats;
}
