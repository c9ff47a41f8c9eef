// The preference pairs a record implies, for TRL export and the store's statistics. Training does not
// use them: a game sample needs the prompt that generated its text (see game.ts).
//
// - accepted round k: round k is preferred to the draft and to every other round;
// - rejected (all rounds), or accepted and then undone: the draft is preferred to every round;
// - accepted round k, then edited: the pairs of "accepted round k", plus the final text preferred to
//   round k. The final text was not sampled from any policy, so that side has no behaviour log-probs.
//   Only round k is paired with it: that is the comparison the user made by editing it, and pairing
//   a hand-edited text with everything else would weigh one edit many times.
// - pending: nothing yet.
// Two sides with the same text say nothing about preference and are left out.
import type { ChatMessage, Completion, Draft, FollowerRound, GenerationInfo, ImportedPairRecord, Prompt, SessionRecord, StoreRecord } from './schema';

export interface PairSide {
  text: Completion;
  origin: 'draft' | 'round' | 'final' | 'imported';
  /** Round index, for origin 'round'. */
  round?: number;
  /** How the text was generated (model, adapter, sampling), when a model generated it. */
  generation?: GenerationInfo;
  /** Behaviour log-probs of the text's tokens, or null when unknown (user text, edits, imports). */
  logprobs: number[] | null;
  tokenIds?: number[];
}

export interface PreferencePair {
  /** Stable: `<record id>/<chosen>><rejected>` with sides named draft, r<k>, final. */
  id: string;
  origin: 'session' | 'imported';
  recordId: string;
  workspace: string;
  /** When the preference was expressed (decision time, or import time). */
  at: string;
  /** The prompt for TRL export. Sessions: see sessionPrompt. */
  prompt: Prompt;
  chosen: PairSide;
  rejected: PairSide;
  /** True when at least one side carries behaviour log-probs. */
  hasBehaviourLogprobs: boolean;
}

/**
 * The TRL prompt of a session: the instruction and the context as one user message, a portable
 * shape for export (training uses the prompts recorded with each generation: game.ts).
 */
export function sessionPrompt(record: SessionRecord): ChatMessage[] {
  const content = record.context ? `${record.instruction}\n\n${record.context}` : record.instruction;
  return [{ role: 'user', content }];
}

function draftSide(draft: Draft): PairSide {
  const side: PairSide = { text: draft.text, origin: 'draft', logprobs: draft.generation?.logprobs ?? null };
  if (draft.generation) side.generation = draft.generation;
  if (draft.generation?.tokenIds) side.tokenIds = draft.generation.tokenIds;
  return side;
}

function roundSide(round: FollowerRound, index: number): PairSide {
  const { text, ...generation } = round;
  const side: PairSide = { text, origin: 'round', round: index, generation, logprobs: round.logprobs };
  if (round.tokenIds) side.tokenIds = round.tokenIds;
  return side;
}

const sideName = (s: PairSide) => (s.origin === 'round' ? `r${s.round}` : s.origin);

export function sessionPairs(record: SessionRecord): PreferencePair[] {
  const d = record.decision;
  if (d.kind === 'pending') return [];
  const draft = draftSide(record.draft);
  const rounds = record.rounds.map(roundSide);
  const comparisons: [PairSide, PairSide][] = [];
  if (d.kind === 'rejected' || d.kind === 'undone') {
    for (const round of rounds) comparisons.push([draft, round]);
  } else {
    const kept = rounds[d.round];
    comparisons.push([kept, draft]);
    for (const round of rounds) if (round !== kept) comparisons.push([kept, round]);
    if (d.kind === 'accepted-edited') comparisons.push([{ text: d.finalText, origin: 'final', logprobs: null }, kept]);
  }
  const prompt = sessionPrompt(record);
  return comparisons
    .filter(([chosen, rejected]) => chosen.text !== rejected.text)
    .map(([chosen, rejected]) => ({
      id: `${record.id}/${sideName(chosen)}>${sideName(rejected)}`,
      origin: 'session' as const,
      recordId: record.id,
      workspace: record.workspace,
      at: d.decidedAt,
      prompt,
      chosen,
      rejected,
      hasBehaviourLogprobs: chosen.logprobs !== null || rejected.logprobs !== null,
    }));
}

export function importedPair(record: ImportedPairRecord): PreferencePair {
  return {
    id: record.id,
    origin: 'imported',
    recordId: record.id,
    workspace: record.workspace,
    at: record.importedAt,
    prompt: record.prompt,
    chosen: { text: record.chosen, origin: 'imported', logprobs: null },
    rejected: { text: record.rejected, origin: 'imported', logprobs: null },
    hasBehaviourLogprobs: false,
  };
}

/** Every pair a record implies. */
export function pairsOf(record: StoreRecord): PreferencePair[] {
  return record.kind === 'session' ? sessionPairs(record) : [importedPair(record)];
}
