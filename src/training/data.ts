// The trainer's inputs, in token ids. Decisions become game samples in src/store (game.ts, the one
// home of that mapping, and game-tokens.ts, which tokenizes them for the model being trained); the
// CLI and the panel hand them over, since src/training never reads the store (same layer). Pairs
// remain for the DPO baseline, a pairwise method by definition.
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

/** A deterministic held-out split by id (stable as the store grows): store records, so that one decision's samples stay together. */
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

/** Checks a game sample against the model: ids inside the vocabulary, one behaviour log-prob per token. */
export function validateSample(sample: Sample, vocabSize: number, name: string): void {
  const check = (what: string, ids: number[]) => {
    const bad = ids.find((id) => !(Number.isInteger(id) && id >= 0 && id < vocabSize));
    if (bad !== undefined) throw new TrainingInputError(`training sample ${name}: ${what} has token id ${bad} outside the vocabulary (0..${vocabSize - 1})`);
  };
  check('prompt', sample.prompt);
  check('reference prompt', sample.referencePrompt);
  check('completion', sample.completion);
  if (sample.prompt.length === 0) throw new TrainingInputError(`training sample ${name}: empty prompt`);
  if (sample.completion.length === 0) throw new TrainingInputError(`training sample ${name}: the completion has no tokens`);
  if (sample.behaviour && sample.behaviour.length !== sample.completion.length) {
    throw new TrainingInputError(`training sample ${name}: ${sample.behaviour.length} behaviour log-probs for ${sample.completion.length} tokens`);
  }
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
