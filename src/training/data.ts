// The trainer's inputs, in token ids. The CLI (or the panel) renders prompts and tokenizes the
// store's preference pairs; src/training never reads the store itself (same layer).
//
// A user decision is one game outcome (x, y, y', p): p = 1 when the user kept the draft y (rejected
// the refinement y'), p = 0 when the user accepted y'. It yields a Follower term on y' with score
// 1 - p and, when the Leader trains, a Leader term on y with score p. Pairs that do not compare the
// draft with a refinement (one refinement over another, an edit over the refinement it came from,
// imported pairs) are two Follower samples of the same prompt: the chosen side scores 1, the
// rejected side 0. Sides without behaviour log-probs (user text, edits, imports) are treated as
// on-policy: importance weight 1 (see docs/training.md).
import type { Role } from './objective';

export interface TokenSide {
  /** Completion token ids (the end-of-turn token included when the model produced one). */
  ids: number[];
  /** 'draft': the Leader's action y; 'refinement': a Follower output; 'other': an edit or an import. */
  kind: 'draft' | 'refinement' | 'other';
  /** Behaviour log-probs of `ids`, or null when unknown. */
  behaviour: number[] | null;
}

/** One preference pair, tokenized. */
export interface TrainingPair {
  id: string;
  /** The Leader's prompt x. */
  leaderPrompt: number[];
  /** The Follower's prompt (x, y); equal to leaderPrompt for pairs without a draft (imports). */
  followerPrompt: number[];
  chosen: TokenSide;
  rejected: TokenSide;
}

/** One sampled sequence with its score, ready for the objective. */
export interface Sample {
  role: Role;
  prompt: number[];
  completion: number[];
  score: number;
  behaviour: number[] | null;
  /** Prompt the reference policy scores the completion under (the Leader-free option differs). */
  referencePrompt: number[];
  /**
   * The temperature the completion was sampled at: behaviour log-probs were recorded at it, and the
   * trainer scores the current and reference policies at it too (as the authors do), so the policy
   * optimized is the one deployed. Absent: 1 (greedy or unknown).
   */
  temperature?: number;
  /**
   * Samples of one role that answer the same context share a group (online: the same x, or the same
   * (x, y) for the Follower); the leave-one-out (RLOO) baseline averages over the other members.
   * Absent: the sample is alone in its group.
   */
  group?: string;
}

export type FollowerReference = 'standard' | 'leader-free';

export interface SampleOptions {
  /** Whether the Leader is trainable (shares the Follower's adapter); otherwise Follower-only. */
  trainLeader: boolean;
  followerReference: FollowerReference;
}

export function samplesOf(pair: TrainingPair, options: SampleOptions): Sample[] {
  const followerRef = options.followerReference === 'leader-free' ? pair.leaderPrompt : pair.followerPrompt;
  const follower = (side: TokenSide, score: number): Sample => ({
    role: 'follower', prompt: pair.followerPrompt, completion: side.ids, score, behaviour: side.behaviour, referencePrompt: followerRef,
  });
  const draftFirst = pair.chosen.kind === 'draft' && pair.rejected.kind === 'refinement';
  const draftLast = pair.rejected.kind === 'draft' && pair.chosen.kind === 'refinement';
  if (draftFirst || draftLast) {
    const p = draftFirst ? 1 : 0;
    const [draft, refinement] = draftFirst ? [pair.chosen, pair.rejected] : [pair.rejected, pair.chosen];
    const out = [follower(refinement, 1 - p)];
    if (options.trainLeader) {
      out.push({ role: 'leader', prompt: pair.leaderPrompt, completion: draft.ids, score: p, behaviour: draft.behaviour, referencePrompt: pair.leaderPrompt });
    }
    return out;
  }
  return [follower(pair.chosen, 1), follower(pair.rejected, 0)];
}

/** A deterministic held-out split by pair id (stable as the store grows). */
export function splitPairs<T extends { id: string }>(pairs: T[], heldOutFraction: number, seed: number): { train: T[]; heldOut: T[] } {
  if (!(heldOutFraction >= 0 && heldOutFraction < 1)) throw new Error(`held-out fraction must be in [0, 1), got ${heldOutFraction}`);
  const train: T[] = [];
  const heldOut: T[] = [];
  for (const pair of pairs) (hashUnit(`${seed}:${pair.id}`) < heldOutFraction ? heldOut : train).push(pair);
  return { train, heldOut };
}

/** FNV-1a of a string, mapped to [0, 1). */
function hashUnit(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h / 2 ** 32;
}

/** Training input that cannot be used (bad pairs, bad settings); its message is meant for the user. */
export class TrainingInputError extends Error {
  override name = 'TrainingInputError';
}

export function validatePair(pair: TrainingPair, vocabSize: number): void {
  const check = (what: string, ids: number[]) => {
    const bad = ids.find((id) => !(Number.isInteger(id) && id >= 0 && id < vocabSize));
    if (bad !== undefined) throw new TrainingInputError(`training pair ${pair.id}: ${what} has token id ${bad} outside the vocabulary (0..${vocabSize - 1})`);
  };
  check('leader prompt', pair.leaderPrompt);
  check('follower prompt', pair.followerPrompt);
  if (pair.leaderPrompt.length === 0 || pair.followerPrompt.length === 0) throw new TrainingInputError(`training pair ${pair.id}: empty prompt`);
  for (const [name, side] of [['chosen', pair.chosen], ['rejected', pair.rejected]] as const) {
    check(name, side.ids);
    if (side.ids.length === 0) throw new TrainingInputError(`training pair ${pair.id}: ${name} side has no tokens`);
    if (side.behaviour && side.behaviour.length !== side.ids.length) {
      throw new TrainingInputError(`training pair ${pair.id}: ${name} side has ${side.behaviour.length} behaviour log-probs for ${side.ids.length} tokens`);
    }
  }
}
