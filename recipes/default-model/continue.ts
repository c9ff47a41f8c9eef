// `node --import tsx recipes/default-model/continue.ts [-- --from DIR --out DIR --steps N --minutes M]`:
// continued training of the built-in model (issue 21) on the error kinds of grammar-errors.ts,
// from its current weights rather than from nothing (the whole recipe, train.ts, takes about 2.5
// hours on a quiet 2-core machine). Every weight is trained, on a mix of
//   - grammar errors (casing of names, days and months; "i"; its/it's; their/there/they're; should
//     of; agreement; to/too; a comma before which) in the recipe's everyday sentences and in the
//     fortune sentences where such an error can be made, a quarter of them left clean;
//   - the original recipe's typo corruptions of fortune sentences and random-word sentences, so
//     that the model keeps what it knew.
// It stops after --steps or --minutes, whichever comes first, saving a checkpoint every 250 steps
// and the final weights to --out, and refuses to train on a sentence that shares six words in a
// row with the hand-written held-out set of bench/default/set.ts.
//
// `--mix after-pass` trains instead for the model's place behind Harper's first pass (after-pass.ts):
// the errors the pass leaves, as it leaves them, and clean sentences of the same shapes (40%), clean
// fortune sentences to be copied unchanged (25%) and the recipe's typo pairs (35%, a fifth of them
// clean), at a lower learning rate (1e-4 unless --lr says otherwise), so that clean text stays as it is.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readDecoderConfig, type DecoderConfig } from '../../src/models/config';
import { readDecoderWeights } from '../../src/models/export';
import type { WeightMap } from '../../src/models/graphs';
import { seededRandom } from '../../src/base/seeded-random';
import { writeSafetensors } from '../../src/models/safetensors-writer';
import { decoderTensorLayout } from '../../src/models/weights-layout';
import { trainFullSft } from '../../lab/full-sft';
import { trainingTokenizer } from '../../src/models/tokenizer';
import { TrainingCancelledError } from '../../src/training/trainer';
import { CLEAN, CORRUPTED } from '../../bench/default/set';
import { ALL_FORTUNES, loadCorpus } from '../../lab/corpus';
import { applicableKinds, everydaySentences, heldOutOverlap, makeGrammarPairs } from './grammar-errors';
import { sftExamples, trainingPairs } from './recipe';
import { afterPassPairs, hasBenchFrame } from './after-pass';
import { loadHarper } from '../../src/models/harper';
import type { RefinementPair } from '../../lab/corruption';

const MODEL_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json'];

async function save(config: DecoderConfig, weights: WeightMap, from: string, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  if (from !== dir) for (const f of MODEL_FILES) copyFileSync(join(from, f), join(dir, f));
  const tensors = decoderTensorLayout(config).map((slot) => ({ name: slot.name, dtype: 'F32' as const, shape: slot.shape, data: weights.get(slot.name)! }));
  await writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
}

function shuffle<T>(items: T[], seed: number): T[] {
  const rand = seededRandom(seed);
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      from: { type: 'string', default: 'assets/default-model' },
      out: { type: 'string', default: 'assets/default-model' },
      work: { type: 'string', default: join(tmpdir(), 'slhf-default-model-continue') },
      steps: { type: 'string', default: '4000' },
      minutes: { type: 'string', default: '60' },
      lr: { type: 'string' },
      mix: { type: 'string', default: 'grammar' },
      seed: { type: 'string', default: '21' },
      threads: { type: 'string' },
    },
  });
  const seed = Number(values.seed);
  const config = readDecoderConfig(join(values.from, 'config.json'));
  const { tokenizer, endOfTurn } = await trainingTokenizer(values.from);
  const corpus = loadCorpus({ source: ALL_FORTUNES });

  const total = Number(values.steps) * 16;
  const pairs = values.mix === 'after-pass' ? await afterPassMix(corpus.train, total, seed) : grammarMix(corpus.train, total, seed);
  await train(values, config, tokenizer, endOfTurn, pairs, values.mix === 'after-pass' ? 1e-4 : 4e-4);
}

/** The errors Harper's first pass leaves, clean copies and the recipe's typos (see the header). */
async function afterPassMix(train: string[], total: number, seed: number): Promise<RefinementPair[]> {
  const harper = await loadHarper();
  const afterPass = await afterPassPairs(harper, Math.ceil(total * 0.4), seed);
  const fortunes = train.filter((s) => !hasBenchFrame(s));
  const leaks = heldOutOverlap([...afterPass.map((p) => p.target), ...fortunes], [...CORRUPTED, ...CLEAN].flatMap((t) => [t.input, t.target]), 5);
  if (leaks.length > 0) throw new Error(`held-out text in the training sentences: ${leaks.slice(0, 5).map((l) => `"${l.sentence}" shares "${l.shared}"`).join('; ')}`);
  const rand = seededRandom(seed + 1);
  const copies = Array.from({ length: Math.ceil(total * 0.25) }, () => fortunes[Math.floor(rand() * fortunes.length)]).map((s) => ({ input: s, target: s, applied: [] }));
  const typos = trainingPairs(fortunes, Math.ceil((total * 0.35) / (2 * fortunes.length)), seed, 3, 0.2, 'types').slice(0, Math.ceil(total * 0.35));
  const counts = new Map<string, number>();
  for (const p of afterPass) counts.set(p.kind, (counts.get(p.kind) ?? 0) + 1);
  console.log(`after the pass: ${afterPass.length} pairs (${[...counts].map(([k, n]) => `${k} ${n}`).join(', ')}), ${copies.length} fortune copies, ${typos.length} typo pairs; no held-out overlap`);
  for (const p of afterPass.filter((x) => x.kind !== 'clean').slice(0, 10)) console.log(`  ${p.input}  ->  ${p.target}`);
  return shuffle([...afterPass.map((p) => ({ input: p.input, target: p.target, applied: [] })), ...copies, ...typos], seed);
}

/** Half the examples carry grammar errors, half the original recipe's typos (and clean copies). */
function grammarMix(train: string[], total: number, seed: number): RefinementPair[] {
  const half = Math.ceil(total / 2);
  const everyday = everydaySentences(6000, seed);
  const fortunesWithGrammar = train.filter((s) => applicableKinds(s).length > 0);
  const grammarSource = [...everyday, ...fortunesWithGrammar];
  const leaks = heldOutOverlap([...grammarSource, ...train], [...CORRUPTED, ...CLEAN].flatMap((t) => [t.input, t.target]));
  if (leaks.length > 0) throw new Error(`held-out text in the training sentences: ${leaks.slice(0, 5).map((l) => `"${l.sentence}" shares "${l.shared}"`).join('; ')}`);
  const grammar = Array.from({ length: Math.ceil(half / grammarSource.length) }, (_, r) => makeGrammarPairs(grammarSource, { seed: seed * 100 + r, cleanRate: 0.25, maxErrors: 2 })).flat().slice(0, half);
  const typos = trainingPairs(train, Math.ceil(half / (2 * train.length)), seed, 3, 0.2, 'types').slice(0, half);
  console.log(`continued training: ${everyday.length} everyday sentences, ${fortunesWithGrammar.length} fortune sentences with a possible grammar error, ${grammar.length} grammar pairs and ${typos.length} typo pairs; no held-out overlap`);
  for (const p of grammar.slice(0, 8)) console.log(`  ${p.input}  ->  ${p.target}`);
  return shuffle([...grammar.map((p) => ({ ...p, applied: [] })), ...typos], seed);
}

type Values = { from: string; out: string; work: string; steps: string; minutes: string; lr?: string; seed: string; threads?: string };

async function train(values: Values, config: DecoderConfig, tokenizer: Awaited<ReturnType<typeof trainingTokenizer>>['tokenizer'], endOfTurn: number, pairs: RefinementPair[], defaultLr: number): Promise<void> {
  const seed = Number(values.seed);
  const steps = Number(values.steps);
  const batchSize = 16;

  mkdirSync(values.work, { recursive: true });
  const examples = sftExamples(tokenizer, pairs, endOfTurn);
  const weights = await readDecoderWeights(values.from);
  const settings = { steps, batchSize, lr: values.lr ? Number(values.lr) : defaultLr, warmupSteps: 50, finalLrFraction: 0.05, weightDecay: 0.01, maxGradNorm: 1, seed, bucket: 16, intraOpThreads: values.threads ? Number(values.threads) : undefined };
  const started = performance.now();
  const deadline = started + Number(values.minutes) * 60_000;
  let stepsDone = 0;
  let lastLoss: number | null = null;
  try {
    await trainFullSft(config, weights, examples, settings, {
      onStep: (p) => {
        stepsDone = p.step;
        lastLoss = p.loss;
        if (p.step % 50 === 0 || p.step === 1) console.log(`step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)} lr ${p.lr.toExponential(2)} ${p.tokensPerSecond.toFixed(0)} tok/s eta ${(p.etaSeconds / 60).toFixed(1)} min`);
      },
      checkpoint: { every: 250, save: (w, step) => save(config, w, values.from, join(values.work, `step-${step}`)) },
      cancelled: () => performance.now() > deadline,
    });
  } catch (err) {
    if (!(err instanceof TrainingCancelledError)) throw err;
    console.log(`time budget reached after ${stepsDone} steps`);
  }
  await save(config, weights, values.from, values.out);
  const record = { name: `continued training on grammar errors and typos (every weight, from the shipped weights)`, steps: stepsDone, minutes: Math.round((performance.now() - started) / 600) / 100, finalLoss: lastLoss, settings };
  writeFileSync(join(values.work, 'stage.json'), JSON.stringify(record, null, 2) + '\n');
  console.log(JSON.stringify(record));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
