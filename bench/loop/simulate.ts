// The closed loop, as the product runs it: the Follower refines a draft in `rounds` rounds, each
// round refining the one before (the refiner, exported ONNX graph, transformers.js), the simulated
// user decides, the decision becomes a store session record
// and its game samples (SLHF, the store's own mapping) or preference pairs (DPO), and every `every`
// decisions the Follower is trained on all decisions so far (a fresh adapter, the same steps for
// every method) and swapped in.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openCheckpoint } from '../../src/models/checkpoint';
import { loadDecoderWeights } from '../../src/models/export';
import { savePeftAdapter } from '../../src/models/peft';
import { seededRandom } from '../../src/base/seeded-random';
import { loadTokenizer, type TextTokenizer } from '../../src/models/tokenizer';
import { ModelHost } from '../../src/refiner/host';
import { refine } from '../../src/refiner/loop';
import type { GeneratedText } from '../../src/refiner/refiner-settings';
import { trainingSamples } from '../../src/store/game-tokens';
import { sessionPairs } from '../../src/store/pairs';
import { SCHEMA_VERSION, type Decision, type SessionRecord } from '../../src/store/schema';
import { trainDpo } from '../../lab/dpo';
import { Policy } from '../../src/training/policy';
import { resolveSettings, type TrainSettings } from '../../src/training/settings';
import { trainSamples } from '../../src/training/trainer';
import { dpoPairs } from './dpo-pairs';
import type { SimulatedUser, Task } from './users';

export type Method = 'slhf' | 'dpo';

export interface LoopOptions {
  modelDir: string;
  workDir: string;
  decisions: number;
  /** Train after every this many decisions. */
  every: number;
  /** Sampling temperature of the refinements. */
  temperature: number;
  /** Follower rounds per decision (the product's default is 2); 1 when left out (the recipe's SLHF stage was measured so). */
  rounds?: number;
  /** SLHF's log-probs: at each sample's sampling temperature (the trainer's rule, the default) or at 1 (as before issue 17). */
  logprobTemperature?: 'sampled' | 1;
  /** Probability that a user corrects a wrong refinement by hand instead of rejecting it. */
  editRate: number;
  seed: number;
  train: Partial<TrainSettings>;
  /** DPO's beta. */
  dpoBeta: number;
  /** Train once more after the last block (a recipe wants the final adapter; the benchmark does not). */
  trainAtEnd?: boolean;
  log?: (message: string) => void;
}

export interface LoopResult {
  user: string;
  method: Method;
  /** Acceptance rate of each block of `every` decisions (block 0: before any training). */
  acceptance: number[];
  pairs: number;
  trainSeconds: number;
  /** The last adapter trained (PEFT folder), null if none was. */
  adapterDir: string | null;
}

/** A session as the product stores it: every round with the prompt it was generated from. */
export function sessionRecord(id: string, task: Task, rounds: readonly GeneratedText[], decision: Decision): SessionRecord {
  const at = new Date(0).toISOString();
  return {
    kind: 'session', schemaVersion: SCHEMA_VERSION, id, workspace: 'bench', createdAt: at, updatedAt: at,
    languageId: 'plaintext', preset: 'prose', context: '', instruction: '',
    draft: { text: task.draft, source: 'user' },
    rounds: rounds.map((r) => ({ text: r.text, prompt: r.prompt, modelId: r.modelId, adapterVersion: r.adapterVersion, sampling: r.sampling, tokenIds: r.tokenIds, logprobs: r.logprobs, timings: r.timings })),
    decision,
  };
}

/**
 * The demanding user's decision on the rounds shown: it accepts the first round that is exactly the
 * text it wants; otherwise it corrects the last round (the refinement the product ends on) by hand
 * when `edits`, or rejects them all.
 */
export function decide(rounds: readonly GeneratedText[], task: Task, edits: boolean): Decision {
  const decidedAt = new Date(0).toISOString();
  const wanted = rounds.findIndex((r) => r.text === task.ideal);
  if (wanted >= 0) return { kind: 'accepted', round: wanted, decidedAt };
  return edits ? { kind: 'accepted-edited', round: rounds.length - 1, finalText: task.ideal, decidedAt } : { kind: 'rejected', decidedAt };
}

/**
 * Follower rounds on `draft`, as the product generates them (fewer when a round is a fixed point),
 * without Harper's first pass (src/refiner/harper-pass.ts): these benchmarks measure and train the model.
 */
export async function refineRounds(host: ModelHost, draft: string, rounds: number, temperature: number, seed: number, maxNewTokens = 160): Promise<GeneratedText[]> {
  const settings = { maxNewTokens, temperature, topP: 1, topK: 0, repetitionPenalty: 1, seed };
  for await (const event of refine(host, { draft, rounds, settings, kind: 'prose', harperFirstPass: false })) if (event.type === 'done') return event.rounds;
  throw new Error('the refiner ended without its rounds');
}

/** One Follower round on `draft`. */
export async function refineOnce(host: ModelHost, draft: string, temperature: number, seed: number, maxNewTokens = 160): Promise<GeneratedText> {
  const [round] = await refineRounds(host, draft, 1, temperature, seed, maxNewTokens);
  if (!round) throw new Error('the refiner returned no round');
  return round;
}

/** One user, one method: `decisions` decisions with training every `every`. */
export async function runLoop(user: SimulatedUser, method: Method, o: LoopOptions): Promise<LoopResult> {
  const dir = join(o.workDir, `${user.name}-${method}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tokenizer: TextTokenizer = await loadTokenizer(o.modelDir);
  const checkpoint = await openCheckpoint(o.modelDir);
  const config = checkpoint.config;
  const weights = await loadDecoderWeights(checkpoint).finally(() => checkpoint.close());
  const settings = resolveSettings({ ...o.train, seed: o.seed });
  const policy = await Policy.create(config, weights, { lora: settings.lora, intraOpThreads: settings.intraOpThreads });
  const host = new ModelHost({ cacheDir: join(o.workDir, 'cache'), device: 'cpu' });
  const endOfTurn = config.eosTokenIds[config.eosTokenIds.length - 1];
  // The same drafts and decisions' coin flips for every method: only the Follower differs.
  const taskRand = seededRandom(o.seed);
  const decideRand = seededRandom(o.seed ^ 0xdec1de);
  const records: SessionRecord[] = [];
  let pairs = 0;
  const acceptance: number[] = [];
  let accepted = 0;
  let trainSeconds = 0;
  let adapterDir: string | null = null;
  try {
    for (let i = 0; i < o.decisions; i++) {
      if (i % o.every === 0) host.configure({ leader: null, follower: { spec: o.modelDir, adapter: adapterDir } });
      const task = user.task(taskRand);
      const rounds = await refineRounds(host, task.draft, o.rounds ?? 1, o.temperature, o.seed * 100_000 + i);
      // Drawn for every decision, so that each method sees the same coin flips.
      const decision = decide(rounds, task, decideRand() < o.editRate);
      if (decision.kind === 'accepted') accepted += 1;
      records.push(sessionRecord(`d${i}`, task, rounds, decision));
      pairs += sessionPairs(records[records.length - 1]).length;
      if ((i + 1) % o.every !== 0) continue;
      acceptance.push(accepted / o.every);
      o.log?.(`${user.name}/${method}: decisions ${i + 1 - o.every}-${i}: acceptance ${(accepted / o.every).toFixed(2)}, ${pairs} pairs`);
      accepted = 0;
      if ((i + 1 >= o.decisions && !o.trainAtEnd) || pairs === 0) continue;
      const started = performance.now();
      const steps = Math.max(1, Math.ceil((settings.epochs * pairs) / (settings.batchSize / 2)));
      const s = { ...settings, steps };
      const tokenized = trainingSamples(records, tokenizer, { endOfTurn, leader: false, followerReference: 'standard' });
      // A sample without a temperature is scored at 1.
      const samples = o.logprobTemperature === 1 ? tokenized.map(({ temperature: _, ...x }) => x) : tokenized;
      if (method === 'slhf') o.log?.(`${user.name}/slhf: ${samples.length} game samples (${samples.filter((x) => x.behaviour).length} with behaviour log-probs), ${steps} steps`);
      const result = method === 'slhf' ? await trainSamples(policy, samples, s) : await trainDpo(policy, dpoPairs(records, tokenizer, endOfTurn), s, o.dpoBeta);
      adapterDir = join(dir, `adapter-${i + 1}`);
      await savePeftAdapter(adapterDir, result.adapter);
      trainSeconds += (performance.now() - started) / 1000;
    }
  } finally {
    await host.unloadAll();
    await policy.release();
  }
  return { user: user.name, method, acceptance, pairs, trainSeconds, adapterDir };
}
