// The DPO baseline's input: each of a session's TRL pairs (store/pairs.ts: the kept text over the
// draft and over every other round, or the draft over every round) as a (chosen, rejected) pair
// under the prompt round 1 was generated from (the draft's), as DPO is usually run on logged
// refinements: one prompt per session, whichever round a text came from. SLHF trains on game
// samples instead, each under the prompt that produced it (src/store/game.ts).
import type { TextTokenizer } from '../../src/models/tokenizer';
import { completionText } from '../../src/store/game';
import { sessionPairs, type PairSide } from '../../src/store/pairs';
import type { SessionRecord } from '../../src/store/schema';
import type { TokenSide, TrainingPair } from '../../src/training/data';

export function dpoPairs(records: SessionRecord[], tokenizer: TextTokenizer, endOfTurn: number): TrainingPair[] {
  const side = (s: PairSide): TokenSide => ({
    ids: s.tokenIds?.length ? s.tokenIds : [...tokenizer.encode(completionText(s.text), { add_special_tokens: false }), endOfTurn],
    kind: s.origin === 'draft' ? 'draft' : s.origin === 'round' ? 'refinement' : 'other',
    behaviour: s.tokenIds?.length && s.logprobs?.length === s.tokenIds.length ? s.logprobs : null,
  });
  return records.flatMap((record) => {
    const prompt = record.rounds[0]?.prompt.tokenIds;
    if (!prompt) return [];
    return sessionPairs(record).map((pair) => ({ id: pair.id, leaderPrompt: prompt, followerPrompt: prompt, chosen: side(pair.chosen), rejected: side(pair.rejected) }));
  });
}
