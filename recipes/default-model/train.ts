// `npm run train:default-model [-- --out DIR --sft-steps N --slhf-decisions N --threads N]`: trains the
// embedded default refiner from nothing. 1. a random model of DEFAULT_MODEL_SHAPE with a byte-level
// tokenizer; 2. supervised warm start, every weight trained, on corrupted -> clean sentences of the
// fortune cookie files (Debian's fortunes-min, then fortunes); 3. SLHF on a LoRA adapter from
// simulated decisions in the product's loop (bench/loop), then merged; 4. the held-out exact-fix and
// damage rates measured through the refiner itself (exported ONNX graph, transformers.js, greedy),
// written into the model card.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadTokenizer, type TextTokenizer } from '../../src/models/tokenizer';
import type { DecoderConfig } from '../../src/models/config';
import { readDecoderWeights } from '../../src/models/export';
import { makeTinyModel } from '../../src/models/tiny-models/tiny-model';
import type { WeightMap } from '../../src/models/graphs';
import { loraScale, mergeLoraPair } from '../../src/models/lora';
import { writeSafetensors } from '../../src/models/safetensors-writer';
import { decoderTensorLayout } from '../../src/models/weights-layout';
import { makeRefinementPairs } from '../../lab/corruption';
import { trainFullSft } from '../../lab/full-sft';
import { loadPeftAdapter } from '../../src/models/peft';
import { runLoop, type LoopOptions } from '../../bench/loop/simulate';
import { fixerUser } from '../../bench/loop/users';
import { ALL_FORTUNES, loadCorpus, MIN_FORTUNES, type Corpus } from '../../lab/corpus';
import { measure, writeModelCard, type StageRecord } from './report';
import { DEFAULT_MODEL_SHAPE, DEFAULT_MODEL_TEMPLATE, randomSentences, sftExamples, trainingPairs, type WordDraw } from './recipe';

const MODEL_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json'];

async function saveModel(config: DecoderConfig, weights: WeightMap, from: string, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const f of MODEL_FILES) copyFileSync(join(from, f), join(dir, f));
  const tensors = decoderTensorLayout(config).map((slot) => ({ name: slot.name, dtype: 'F32' as const, shape: slot.shape, data: weights.get(slot.name)! }));
  await writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
}

interface SftPhase {
  name: string;
  dir: string;
  corpus: Corpus;
  steps: number;
  lr: number;
  warmupSteps: number;
  maxCorruptions: number;
  seed: number;
  /** How the random sentences draw their words (trainingPairs' default when absent). */
  words?: WordDraw;
}

const minutes = (ms: number) => Math.round(ms / 600) / 100;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: 'assets/default-model' },
      work: { type: 'string', default: join(tmpdir(), 'slhf-default-model') },
      'sft-steps': { type: 'string', default: '3000' },
      'slhf-decisions': { type: 'string', default: '256' },
      'slhf-lr': { type: 'string', default: '2e-4' },
      'slhf-temperature': { type: 'string', default: '0.3' },
      threads: { type: 'string' },
      seed: { type: 'string', default: '0' },
      // Re-running only the later stages reuses the warm start saved in --work.
      'skip-sft': { type: 'boolean', default: false },
      'sft-only': { type: 'boolean', default: false },
    },
  });
  const seed = Number(values.seed);
  const threads = values.threads ? Number(values.threads) : undefined;
  const corpus = loadCorpus({ source: ALL_FORTUNES });
  const smallCorpus = loadCorpus({ source: MIN_FORTUNES });
  console.log(`corpus: ${corpus.train.length} training and ${corpus.heldOut.length} held-out sentences from ${corpus.source.package} (${smallCorpus.train.length} training from ${smallCorpus.source.package})`);
  const baseDir = join(values.work, 'base');
  if (!values['skip-sft']) rmSync(values.work, { recursive: true, force: true });
  const base = await makeTinyModel({ arch: 'qwen2', tokenizer: 'bytes', ...DEFAULT_MODEL_SHAPE, out: baseDir, seed, force: true });
  const tokenizerConfig = JSON.parse(readFileSync(join(baseDir, 'tokenizer_config.json'), 'utf8'));
  writeFileSync(join(baseDir, 'tokenizer_config.json'), JSON.stringify({ ...tokenizerConfig, chat_template: DEFAULT_MODEL_TEMPLATE }, null, 2) + '\n');
  const config = base.config;
  const endOfTurn = base.tokenizer.endOfTurnIds[0];
  const tokenizer: TextTokenizer = await loadTokenizer(baseDir);
  const stages: StageRecord[] = [];
  // 2. Supervised warm start in five phases, each a fresh AdamW and cosine schedule on fresh
  // corruptions: a long one at a high learning rate and a gentler one on the small corpus, where
  // the model learns to copy and to fix; then the same two on the whole corpus (twelve times the
  // sentences, five times the words, up to three corruptions a sentence), where it learns to copy
  // words it has not seen rather than "fix" them; then one more on the whole corpus whose random
  // sentences draw every distinct word equally often, because a word the corpus has only a few
  // times ("sat") was still being rewritten into a common one. Each phase saves its result and its
  // record in --work, and a re-run resumes after the last phase saved.
  const sftSteps = Number(values['sft-steps']);
  const phases: SftPhase[] = [
    { name: 'supervised warm start, phase 1 (every weight, fortunes-min)', dir: join(values.work, 'sft-1'), corpus: smallCorpus, steps: sftSteps, lr: 2e-3, warmupSteps: 100, maxCorruptions: 2, seed },
    { name: 'supervised warm start, phase 2 (every weight, fortunes-min)', dir: join(values.work, 'sft-2'), corpus: smallCorpus, steps: Math.round(sftSteps * 2 / 3), lr: 5e-4, warmupSteps: 50, maxCorruptions: 2, seed: seed + 1 },
    { name: 'supervised warm start, phase 3 (every weight, fortunes)', dir: join(values.work, 'sft-3'), corpus, steps: sftSteps * 4, lr: 1e-3, warmupSteps: 100, maxCorruptions: 3, seed: seed + 2 },
    { name: 'supervised warm start, phase 4 (every weight, fortunes)', dir: join(values.work, 'sft-4'), corpus, steps: sftSteps * 2, lr: 5e-4, warmupSteps: 50, maxCorruptions: 3, seed: seed + 3 },
    { name: 'supervised warm start, phase 5 (every weight, fortunes, rare words as often as common ones)', dir: join(values.work, 'sft-5'), corpus, steps: sftSteps * 2, lr: 5e-4, warmupSteps: 50, maxCorruptions: 3, seed: seed + 4, words: 'types' },
  ];
  const sftDir = phases[phases.length - 1].dir;
  let weights = await readDecoderWeights(baseDir);
  for (const phase of phases) {
    const record = join(phase.dir, 'stage.json');
    if (values['skip-sft'] && existsSync(record)) {
      weights = await readDecoderWeights(phase.dir);
      stages.push(JSON.parse(readFileSync(record, 'utf8')) as StageRecord);
      continue;
    }
    const settings = { steps: phase.steps, batchSize: 16, lr: phase.lr, warmupSteps: phase.warmupSteps, finalLrFraction: 0.05, weightDecay: 0.01, maxGradNorm: 1, seed: phase.seed, bucket: 16, intraOpThreads: threads };
    const rounds = Math.ceil((phase.steps * settings.batchSize) / (2 * phase.corpus.train.length)) + 1;
    const examples = sftExamples(tokenizer, trainingPairs(phase.corpus.train, rounds, phase.seed, phase.maxCorruptions, 0.2, phase.words), endOfTurn);
    const started = performance.now();
    const last = await trainFullSft(config, weights, examples, settings, {
      onStep: (p) => {
        if (p.step % 50 === 0 || p.step === 1) console.log(`sft ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)} |g| ${p.gradNorm.toFixed(2)} lr ${p.lr.toExponential(2)} ${p.tokensPerSecond.toFixed(0)} tok/s eta ${(p.etaSeconds / 60).toFixed(1)} min`);
      },
      checkpoint: { every: 500, save: (w) => saveModel(config, w, baseDir, join(values.work, 'sft-checkpoint')) },
    });
    await saveModel(config, weights, baseDir, phase.dir);
    stages.push({ name: phase.name, steps: phase.steps, minutes: minutes(performance.now() - started), finalLoss: last?.loss ?? null, settings });
    writeFileSync(record, JSON.stringify(stages[stages.length - 1]));
  }
  if (values['sft-only']) return;

  // 3. SLHF through the product's own loop: the model refines corrupted training sentences, a
  // simulated user who wants the clean sentence accepts, corrects or rejects, the decisions become
  // preference pairs, and the Follower's LoRA adapter is trained on them with SLHF, then merged.
  const slhfStarted = performance.now();
  const decisions = Number(values['slhf-decisions']);
  const every = Math.max(1, Math.floor(decisions / 4));
  const slhfPairs = makeRefinementPairs([...corpus.train, ...randomSentences(corpus.train, corpus.train.length, seed + 7)], { seed: seed + 7, cleanRate: 0.2, maxCorruptions: 2 });
  const loopOptions: LoopOptions = {
    modelDir: sftDir, workDir: join(values.work, 'slhf'), decisions, every, temperature: Number(values['slhf-temperature']), editRate: 0.5, seed, trainAtEnd: true,
    train: { lora: { rank: 16, alpha: 32, dropout: 0, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] }, lr: Number(values['slhf-lr']), epochs: 2, batchSize: 8, warmupSteps: 5, intraOpThreads: threads },
    dpoBeta: 0,
    log: (m) => console.log(m),
  };
  const loop = await runLoop(fixerUser(slhfPairs), 'slhf', loopOptions);
  if (!loop.adapterDir) throw new Error('SLHF stage: no adapter was trained');
  const adapter = await loadPeftAdapter(loop.adapterDir, config);
  const scale = loraScale(adapter.config);
  for (const pair of adapter.pairs) mergeLoraPair(weights.get(`${pair.module}.weight`)!, pair, scale);
  stages.push({ name: `SLHF on ${decisions} simulated decisions (LoRA r16, merged); acceptance per block ${loop.acceptance.map((a) => a.toFixed(2)).join(', ')}`, steps: loop.pairs, minutes: minutes(performance.now() - slhfStarted), finalLoss: null, settings: loopOptions.train });
  rmSync(values.out, { recursive: true, force: true });
  await saveModel(config, weights, baseDir, values.out);

  // 4. Held-out quality through the refiner, for the warm start and the final model.
  // Every third held-out sentence: a sample across all the files, measured in minutes.
  const heldOut = makeRefinementPairs(corpus.heldOut.filter((_, i) => i % 3 === 0), { seed: 12345, cleanRate: 0.3, maxCorruptions: 2 });
  const cacheDir = join(values.work, 'cache');
  const before = await measure(sftDir, heldOut, cacheDir);
  const after = await measure(values.out, heldOut, cacheDir);
  writeModelCard(values.out, { config, corpus, smallCorpus, stages, before, after, heldOutPairs: heldOut.length });
  console.log(`held-out exact-fix rate ${before.metrics.exactFixRate} -> ${after.metrics.exactFixRate}; damage rate ${before.metrics.damageRate} -> ${after.metrics.damageRate}`);
  for (const e of after.examples) console.log(`  ${e.input} -> ${e.output}`);
  console.log(`wrote ${values.out}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
