// Programmatic judges for online training and benchmarks (simulated users). Each returns
// p = P(y > y' | x); a preference model learned from the user's choices can implement `Judge` too.
import { loadHarper } from '../models/harper';
import { loadTokenizer } from '../models/tokenizer';
import { harperJudge } from './harper';
import type { Judge, JudgeInput } from './online';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Prefers the shorter response: p = sigmoid((|y'| - |y|) / 4) in tokens. */
export const shorterJudge: Judge = { name: 'shorter', prefer: ({ leader, follower }: JudgeInput) => sigmoid((follower.length - leader.length) / 4) };

/** Prefers the longer response. */
export const longerJudge: Judge = { name: 'longer', prefer: ({ leader, follower }: JudgeInput) => sigmoid((leader.length - follower.length) / 4) };

/** Prefers the response whose tokens fall more often in `ids` (e.g. a vocabulary to encourage). */
export function tokenSetJudge(name: string, ids: Iterable<number>, sharpness = 8): Judge {
  const set = new Set(ids);
  const share = (xs: number[]) => xs.filter((t) => set.has(t)).length / Math.max(xs.length, 1);
  return { name, prefer: ({ leader, follower }) => sigmoid(sharpness * (share(leader) - share(follower))) };
}

export const JUDGES: Record<string, Judge> = { shorter: shorterJudge, longer: longerJudge };

export function judgeByName(name: string): Judge {
  const judge = JUDGES[name];
  if (!judge) throw new Error(`unknown judge ${JSON.stringify(name)}; available: ${JUDGE_NAMES.join(', ')}`);
  return judge;
}

/**
 * Judges that read text rather than token ids: built when a run starts, with the trained model's
 * tokenizer to decode y and y'. `harper` (src/training/harper.ts) loads Harper's linter first.
 */
const TEXT_JUDGES: Record<string, (decode: (ids: number[]) => string) => Promise<Judge>> = {
  harper: async (decode) => harperJudge(await loadHarper(), decode),
};

/** Every name `--judge` accepts. */
export const JUDGE_NAMES: readonly string[] = [...Object.keys(JUDGES), ...Object.keys(TEXT_JUDGES)];

/** The judge called `name` for online training of the model in `modelDir` (its tokenizer is read only for a text judge). */
export async function loadJudge(name: string, modelDir: string): Promise<Judge> {
  const textJudge = TEXT_JUDGES[name];
  if (!textJudge) return judgeByName(name);
  const tokenizer = await loadTokenizer(modelDir);
  return textJudge((ids) => tokenizer.decode(ids, { skip_special_tokens: true }));
}
