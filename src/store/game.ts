// From a user's decision to SLHF game samples: the one home of that mapping (docs/training.md has a
// worked example). A session has a draft d = r0 and rounds r1..rK, round j generated from r(j-1)
// under the prompt recorded with it. Every generated transition (y -> y') is one Follower sample
// under the prompt that produced y', scored only where the decision reveals the order of y and y':
// the user ends with one text w of those shown (the accepted round, or the draft after a rejection
// or an undone acceptance), which says w beat each text it was shown with. So a transition scores
// 1 - p = 1 when y' is w, 0 when y is w, and is left out when neither is (two texts that both
// lost) or both are (identical texts say nothing). An edit f of the accepted round r_k adds the
// refinement (r_k -> f) with score 1: the user wrote it, so it has no behaviour log-probs (an edit
// that lands on r_(k+1)'s text takes back that round's loss). The
// Leader's y is scored against the Follower's first response: p of transition 1, when it is scored.
import { contextOf, DEFAULT_FOLLOWER_INSTRUCTION, promptMessages, refinementMessages, type ChatMessage } from '../models/prompts';
import type { Completion, FollowerRound, GenerationPrompt, ImportedPairRecord, Prompt, SessionRecord, StoreRecord } from './schema';

import type { Role } from '../base/generation-record';

/** A prompt as a model saw it: the messages it was rendered from, and its rendering when one was recorded. */
export interface GamePrompt {
  messages: ChatMessage[];
  /** The rendered text, recorded at generation time; absent for prompts nothing was generated from. */
  text?: string;
  tokenIds?: number[];
}

export interface GameCompletion {
  text: string;
  /** The generated token ids, when a model wrote the text. */
  tokenIds?: number[];
  /** Behaviour log-probs of `tokenIds` at the sampling temperature; null for text no model sampled. */
  logprobs: number[] | null;
}

export interface GameSample {
  role: Role;
  /** The store record it comes from. */
  record: string;
  /** Which move: 'r0->r1' (round 1 refining the draft), 'r2->edit', 'rejected->chosen', 'x->r0' (the Leader's draft). */
  transition: string;
  prompt: GamePrompt;
  /** The Leader's prompt x of the same context (the leader-free reference KL scores a Follower completion under it). */
  context: ChatMessage[];
  completion: GameCompletion;
  /** The player's score: 1 - p for the Follower, p for the Leader (p: how likely y beats y'). */
  score: number;
  /** The temperature the Follower or Leader samples at in this session; absent when greedy or unknown. */
  temperature?: number;
}

const recorded = (prompt: GenerationPrompt): GamePrompt => ({
  messages: promptMessages(prompt),
  ...(prompt.text !== undefined ? { text: prompt.text } : {}),
  ...(prompt.tokenIds ? { tokenIds: prompt.tokenIds } : {}),
});

const sampledAt = (temperature: number | undefined) => (temperature !== undefined && temperature > 0 ? { temperature } : {});

function generated(text: string, generation: { tokenIds?: number[]; logprobs?: number[] } | undefined): GameCompletion {
  return { text, ...(generation?.tokenIds ? { tokenIds: generation.tokenIds } : {}), logprobs: generation?.logprobs ?? null };
}

/** The text the user ended with among those shown: index 0 is the draft, j is round j. */
function chosenIndex(record: SessionRecord): number | null {
  const d = record.decision;
  if (d.kind === 'pending') return null;
  return d.kind === 'rejected' || d.kind === 'undone' ? 0 : d.round + 1;
}

export function sessionGameSamples(record: SessionRecord): GameSample[] {
  const chosen = chosenIndex(record);
  if (chosen === null || record.rounds.length === 0) return [];
  const texts = [record.draft.text, ...record.rounds.map((r) => r.text)];
  const winner = texts[chosen];
  const context = promptMessages(contextOf(record.rounds[0].prompt));
  const follower = (transition: string, prompt: GamePrompt, completion: GameCompletion, score: number, round: FollowerRound): GameSample => ({
    role: 'follower', record: record.id, transition, prompt, context, completion, score, ...sampledAt(round.sampling.temperature),
  });
  const samples: GameSample[] = [];
  let firstScore: number | null = null;
  record.rounds.forEach((round, i) => {
    const [y, yPrime] = [texts[i], texts[i + 1]];
    if ((y === winner) === (yPrime === winner)) return;
    const score = yPrime === winner ? 1 : 0;
    if (i === 0) firstScore = score;
    samples.push(follower(`r${i}->r${i + 1}`, recorded(round.prompt), generated(round.text, round), score, round));
  });
  const d = record.decision;
  if (d.kind === 'accepted-edited' && d.finalText !== texts[d.round + 1]) {
    // An edit that lands on the next round's text says that text won after all: its loss goes.
    const lostToEdit = samples.findIndex((x) => x.score === 0 && x.completion.text === d.finalText);
    if (lostToEdit >= 0) samples.splice(lostToEdit, 1);
    // The edit refines the accepted round: under the prompt that generated the next round from it,
    // or, after the last round, the one the refiner would have built.
    const kept = record.rounds[d.round];
    const next = record.rounds[d.round + 1];
    const prompt = next ? recorded(next.prompt) : { messages: promptMessages({ ...kept.prompt, refined: kept.text }) };
    samples.push(follower(`r${d.round + 1}->edit`, prompt, { text: d.finalText, logprobs: null }, 1, kept));
  }
  if (firstScore !== null) {
    const draft = record.draft;
    const prompt = draft.generation?.prompt ? recorded(draft.generation.prompt) : { messages: context };
    samples.unshift({
      role: 'leader', record: record.id, transition: 'x->r0', prompt, context, completion: generated(draft.text, draft.generation),
      score: 1 - firstScore, ...sampledAt(draft.generation?.sampling.temperature),
    });
  }
  return samples;
}

/** A TRL prompt as chat messages (a plain string is one user turn). */
export const asMessages = (prompt: Prompt): ChatMessage[] =>
  typeof prompt === 'string' ? [{ role: 'user', content: prompt }] : prompt.map((m) => ({ role: m.role as ChatMessage['role'], content: m.content }));

/** A TRL completion as text: its assistant turns (or, without any, all turns). */
export function completionText(value: Completion): string {
  if (typeof value === 'string') return value;
  return value.filter((m) => m.role === 'assistant').map((m) => m.content).join('\n') || value.map((m) => m.content).join('\n');
}

/**
 * An imported pair (x, chosen, rejected): the Follower refines rejected into chosen (p = 0) and
 * chosen into rejected (p = 1) under x with the default follower instruction; the Leader's chosen
 * beats its Follower's answer (p = 1), its rejected does not (p = 0).
 */
export function importedGameSamples(record: ImportedPairRecord): GameSample[] {
  const x = asMessages(record.prompt);
  const chosen = completionText(record.chosen);
  const rejected = completionText(record.rejected);
  if (chosen === rejected) return [];
  const base = { record: record.id, context: x };
  const text = (t: string): GameCompletion => ({ text: t, logprobs: null });
  return [
    { ...base, role: 'leader', transition: 'x->chosen', prompt: { messages: x }, completion: text(chosen), score: 1 },
    { ...base, role: 'leader', transition: 'x->rejected', prompt: { messages: x }, completion: text(rejected), score: 0 },
    { ...base, role: 'follower', transition: 'rejected->chosen', prompt: { messages: refinementMessages(x, rejected, DEFAULT_FOLLOWER_INSTRUCTION) }, completion: text(chosen), score: 1 },
    { ...base, role: 'follower', transition: 'chosen->rejected', prompt: { messages: refinementMessages(x, chosen, DEFAULT_FOLLOWER_INSTRUCTION) }, completion: text(rejected), score: 0 },
  ];
}

/** Every game sample a record implies (none for a pending session). */
export function gameSamples(record: StoreRecord): GameSample[] {
  return record.kind === 'session' ? sessionGameSamples(record) : importedGameSamples(record);
}
