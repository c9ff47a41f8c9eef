// Claims 2 and 3 on the task with typos: iterative refinement (a Follower applied to its own
// output, rounds 1..K) and transfer (a Follower refining the drafts of Leaders it never trained
// with). Both are measured by sampling at the bench's temperature and asking the judge.
import type { Feed } from '../../src/onnx';
import { seededRandom } from '../../src/base/seeded-random';
import type { Sampler } from '../../src/training/sampler';
import { mean } from './game';
import { preference } from './judge';
import type { BenchModel } from './model';

/** A model that can play either role: a sampler and the LoRA feeds of its adapter. */
export interface Player {
  name: string;
  sampler: Sampler;
  lora: Record<string, Feed>;
}

/** A text to refine: the Leader's instruction x, the text, and the clean sentence the judge knows. */
export interface Case {
  x: string;
  text: string;
  clean: string;
}

const sample = async (model: BenchModel, player: Player, prompts: number[][], temperature: number, maxNewTokens: number, rand: () => number): Promise<string[]> => {
  const out: string[] = [];
  for (let i = 0; i < prompts.length; i += 32) {
    const got = await player.sampler.sample(prompts.slice(i, i + 32), player.lora, { maxNewTokens, temperature, eos: model.config.eosTokenIds }, rand);
    out.push(...got.map((g) => model.decode(g.ids)));
  }
  return out;
};

/** One refinement of each case's text by `follower`. */
export const refineAll = (model: BenchModel, follower: Player, cases: Case[], temperature: number, maxNewTokens: number, rand: () => number): Promise<string[]> =>
  sample(model, follower, cases.map((c) => model.followerPrompt(c.x, c.text)), temperature, maxNewTokens, rand);

/** One draft per instruction by `leader`. */
export const draftAll = (model: BenchModel, leader: Player, xs: string[], temperature: number, maxNewTokens: number, rand: () => number): Promise<string[]> =>
  sample(model, leader, xs.map((x) => model.leaderPrompt(x)), temperature, maxNewTokens, rand);

export interface RoundRates {
  /** P(round k beats round k-1), k = 1..K. */
  overPrevious: number[];
  /** P(round k beats the draft). */
  overDraft: number[];
}

export interface IterationResult {
  follower: string;
  full: RoundRates;
  /** The same under the transitive part of the judge alone (the typos; endings ignored). */
  transitive: RoundRates;
}

/** `rounds` rounds of refinement of every case, each from the previous round's text. */
export async function iterate(model: BenchModel, follower: Player, cases: Case[], rounds: number, temperature: number, maxNewTokens: number, seed: number): Promise<IterationResult> {
  const rand = seededRandom(seed);
  const texts: string[][] = [cases.map((c) => c.text)];
  for (let k = 1; k <= rounds; k++) texts.push(await refineAll(model, follower, cases.map((c, i) => ({ ...c, text: texts[k - 1][i] })), temperature, maxNewTokens, rand));
  const rates = (transitiveOnly: boolean): RoundRates => {
    const win = (k: number, against: number) => mean(cases.map((c, i) => 1 - preference(texts[against][i], texts[k][i], c.clean, transitiveOnly)));
    const ks = Array.from({ length: rounds }, (_, j) => j + 1);
    return { overPrevious: ks.map((k) => win(k, k - 1)), overDraft: ks.map((k) => win(k, 0)) };
  };
  return { follower: follower.name, full: rates(false), transitive: rates(true) };
}

/** Win rate of each Follower's refinement over each Leader's draft: [leader][follower]. */
export async function transferMatrix(model: BenchModel, leaders: Player[], followers: Player[], contexts: { x: string; clean: string }[], temperature: number, maxNewTokens: number, seed: number): Promise<number[][]> {
  const rand = seededRandom(seed);
  const matrix: number[][] = [];
  for (const leader of leaders) {
    const drafts = await draftAll(model, leader, contexts.map((c) => c.x), temperature, maxNewTokens, rand);
    const cases = contexts.map((c, i) => ({ ...c, text: drafts[i] }));
    const row: number[] = [];
    for (const follower of followers) {
      const refined = await refineAll(model, follower, cases, temperature, maxNewTokens, rand);
      row.push(mean(cases.map((c, i) => 1 - preference(c.text, refined[i], c.clean))));
    }
    matrix.push(row);
  }
  return matrix;
}
