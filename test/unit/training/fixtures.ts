// Shared fixtures for the training tests: a tiny decoder and synthetic decisions with a learnable
// pattern (users accept refinements that end with '.', and reject those that end with '!').
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCheckpoint } from '../../../src/models/checkpoint';
import type { DecoderConfig } from '../../../src/models/config';
import { main } from '../../../src/cli';
import { loadDecoderWeights } from '../../../src/models/export';
import { makeTinyModel } from '../../../src/models/tiny-models/tiny-model';
import type { WeightMap } from '../../../src/models/graphs';
import { seededRandom } from '../../../src/base/seeded-random';
import type { Sample, TrainingPair } from '../../../src/training/data';
import { createHash } from 'node:crypto';
import { DEFAULT_FOLLOWER_INSTRUCTION } from '../../../src/models/prompts';
import { createLogger } from '../../../src/store/logger';
import { SCHEMA_VERSION, type SessionRecord } from '../../../src/store/schema';
import { PreferenceStore } from '../../../src/store/store';
import { round } from '../store/fixtures/records';

export interface TinyFixture {
  dir: string;
  modelDir: string;
  config: DecoderConfig;
  weights: () => Promise<WeightMap>;
  cleanup: () => void;
}

/** One layer, hidden 32, the byte tokenizer (vocab 320): small enough for a 2-core CI. */
export async function tinyFixture(seed = 3): Promise<TinyFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'slhf-train-'));
  const modelDir = join(dir, 'model');
  const { config } = await makeTinyModel({ arch: 'qwen2', tokenizer: 'bytes', out: modelDir, seed, layers: 1, hidden: 32, heads: 2, kvHeads: 1, intermediate: 64 });
  const weights = async () => {
    const ckpt = await openCheckpoint(modelDir, { requireTokenizer: false });
    try {
      return await loadDecoderWeights(ckpt);
    } finally {
      await ckpt.close();
    }
  };
  return { dir, modelDir, config, weights, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const code = (ch: string) => ch.charCodeAt(0);
const letters = (rand: () => number, n: number) => Array.from({ length: n }, () => code('a') + Math.floor(rand() * 26));

/**
 * Decisions on refinements: accepted (p = 0) when the refinement ends with '.', rejected (p = 1)
 * when it ends with '!'. With behaviour log-probs when `behaviour` is given (one value per token).
 */
export function syntheticPairs(count: number, seed: number, options: { behaviour?: number } = {}): TrainingPair[] {
  const rand = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const x = letters(rand, 4);
    const draft = letters(rand, 4);
    const accepted = rand() < 0.5;
    const refinement = [...letters(rand, 3), code(accepted ? '.' : '!')];
    const leaderPrompt = [code('>'), ...x, code(':')];
    const followerPrompt = [...leaderPrompt, ...draft, code('|')];
    const behaviour = (ids: number[]) => (options.behaviour === undefined ? null : ids.map(() => options.behaviour!));
    const d = { ids: draft, kind: 'draft' as const, behaviour: null };
    const r = { ids: refinement, kind: 'refinement' as const, behaviour: behaviour(refinement) };
    return { id: `pair-${seed}-${i}`, leaderPrompt, followerPrompt, chosen: accepted ? r : d, rejected: accepted ? d : r };
  });
}

/**
 * The game samples of these single-round decisions (src/store/game.ts's mapping for one round): the
 * refinement as a Follower sample under (x, y) with score 1 - p, and with `leader` the draft as a
 * Leader sample under x with score p. Both sides share their group with nothing else here.
 */
export function pairSamples(pairs: TrainingPair[], leader: boolean): Sample[] {
  return pairs.flatMap((pair) => {
    const p = pair.chosen.kind === 'draft' ? 1 : 0;
    const [draft, refinement] = p === 1 ? [pair.chosen, pair.rejected] : [pair.rejected, pair.chosen];
    const follower: Sample = { role: 'follower', prompt: pair.followerPrompt, completion: refinement.ids, score: 1 - p, behaviour: refinement.behaviour, referencePrompt: pair.followerPrompt };
    const drafted: Sample = { role: 'leader', prompt: pair.leaderPrompt, completion: draft.ids, score: p, behaviour: draft.behaviour, referencePrompt: pair.leaderPrompt };
    return leader ? [follower, drafted] : [follower];
  });
}

const word = (rand: () => number) => Array.from({ length: 4 }, () => String.fromCharCode(97 + Math.floor(rand() * 26))).join('');

/**
 * Store records of single-round decisions with the same pattern: a refinement ending with '.' accepted,
 * with '!' rejected. Ids are UUID-like, as the store gives sessions (the held-out split hashes them).
 */
export function decisionRecords(count: number, seed = 12): SessionRecord[] {
  const rand = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const accepted = rand() < 0.5;
    const refinement = `${word(rand)}${accepted ? '.' : '!'}`;
    const [context, draft] = [word(rand), word(rand)];
    // Recorded before prompts were: the trainer renders each one from its parts.
    const prompt = { preset: 'prose' as const, instruction: 'Say it.', context, followerInstruction: DEFAULT_FOLLOWER_INSTRUCTION, refined: draft };
    return {
      kind: 'session', schemaVersion: SCHEMA_VERSION, id: createHash('sha1').update(`s${i}`).digest('hex').slice(0, 16), workspace: 'w', createdAt: '2026-03-01T10:00:00.000Z', updatedAt: '2026-03-01T10:00:05.000Z',
      languageId: 'plaintext', preset: 'prose', context, instruction: 'Say it.', draft: { text: draft, source: 'user' },
      rounds: [round(refinement, { tokenIds: undefined, prompt })],
      decision: accepted ? { kind: 'accepted', round: 0, decidedAt: '2026-03-01T10:00:05.000Z' } : { kind: 'rejected', decidedAt: '2026-03-01T10:00:05.000Z' },
    };
  });
}

/** A preference store at `dir` holding `records` (the training CLI tests' input). */
export async function storeWith(dir: string, records: SessionRecord[]): Promise<PreferenceStore> {
  const store = await PreferenceStore.open(dir, { logger: createLogger({ level: 'silent' }) });
  await store.putMany(records);
  return store;
}

/** Runs the `slhf` entry point in-process with empty stdin, capturing its output. */
export async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), stdin: async () => '' });
  return { code, stdout, stderr };
}
