// The recipe's held-out measurement through the refiner, and the model card. The card is written
// whole by the recipe, examples included, so that re-running it never leaves a stale word behind.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DecoderConfig } from '../../src/models/config';
import { ModelHost } from '../../src/refiner/host';
import { refineOnce } from '../../bench/loop/simulate';
import type { RefinementPair } from '../../lab/corruption';
import { fixMetrics, type FixMetrics } from '../../lab/fix-metrics';
import type { Corpus } from '../../lab/corpus';

/** Sentences shown on the card with the model's output and the text wanted: the issue's demo sentence first. */
export const EXAMPLES = [
  { input: 'teh cat sat on the the mat', want: 'The cat sat on the mat.' },
  { input: 'the fat cat sat on a mat', want: 'The fat cat sat on a mat.' },
  { input: 'i beleive we should leave untill tomorrow', want: 'I believe we should leave until tomorrow.' },
  { input: 'The weather is nice today , and the park is open', want: 'The weather is nice today, and the park is open.' },
  { input: 'She has a quiet humor that most people miss.', want: 'She has a quiet humor that most people miss.' },
  { input: 'Remember to water the plants while I am away.', want: 'Remember to water the plants while I am away.' },
];

export interface Measurement {
  metrics: FixMetrics;
  examples: { input: string; want: string; output: string }[];
}

/**
 * Exact-fix and damage rates of a model folder on `pairs`, and its outputs for EXAMPLES,
 * refining each input once, greedily, as the product does.
 */
export async function measure(modelDir: string, pairs: readonly RefinementPair[], cacheDir: string): Promise<Measurement> {
  const host = new ModelHost({ cacheDir, device: 'cpu' });
  host.configure({ leader: null, follower: { spec: modelDir, adapter: null } });
  const refine = async (text: string) => (await refineOnce(host, text, 0, 0, 256)).text;
  try {
    const metrics = await fixMetrics(pairs, refine, 8);
    const examples = [];
    for (const e of EXAMPLES) examples.push({ ...e, output: await refine(e.input) });
    return { metrics, examples };
  } finally {
    await host.unloadAll();
  }
}

export interface StageRecord {
  name: string;
  steps: number;
  minutes: number;
  finalLoss: number | null;
  settings: object;
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);

export interface CardFacts {
  config: DecoderConfig;
  corpus: Corpus;
  /** The smaller corpus of the first phases. */
  smallCorpus: Corpus;
  stages: StageRecord[];
  before: Measurement;
  after: Measurement;
  heldOutPairs: number;
}

/** The card's section written by `npm run bench:default`, which measures the model in the product's own way; the recipe keeps it. */
export const BENCH_DEFAULT_HEADING = '## Out of the box against Harper (`npm run bench:default`)';

/** That section of an existing card, through the line before the next `## ` heading; empty when absent. */
export function keptBenchSection(card: string): string {
  const start = card.indexOf(BENCH_DEFAULT_HEADING);
  if (start < 0) return '';
  const next = card.indexOf('\n## ', start + BENCH_DEFAULT_HEADING.length);
  return `\n${card.slice(start, next < 0 ? undefined : next + 1).trimEnd()}\n`;
}

export function writeModelCard(dir: string, r: CardFacts): void {
  const cardFile = join(dir, 'README.md');
  // Measured with the refiner as shipped, not by this recipe: re-measure with npm run bench:default after retraining.
  const benchSection = existsSync(cardFile) ? keptBenchSection(readFileSync(cardFile, 'utf8')) : '';
  const params = (r.config.vocabSize * r.config.hiddenSize) + r.config.numLayers * (
    r.config.hiddenSize * (r.config.numHeads + 2 * r.config.numKvHeads) * r.config.headDim + r.config.numHeads * r.config.headDim * r.config.hiddenSize + 3 * r.config.hiddenSize * r.config.intermediateSize);
  const after = r.after.metrics;
  const kinds = Object.entries(after.byKind).map(([k, v]) => `| ${k} | ${v!.count} | ${pct(v!.rate)} |`).join('\n');
  const misses = after.misses.map((m) => `- in: \`${m.input}\`\n  want: \`${m.target}\`\n  got: \`${m.output}\``).join('\n');
  const examples = r.after.examples.map((e) => `| \`${e.input}\` | \`${e.output}\` | ${e.output === e.want ? 'yes' : `no (\`${e.want}\`)`} |`).join('\n');
  const missedExamples = r.after.examples.filter((e) => e.output !== e.want);
  const stages = r.stages.map((s) => `| ${s.name} | ${s.steps} | ${s.minutes} | ${s.finalLoss === null ? 'n/a' : s.finalLoss.toFixed(4)} |`).join('\n');
  const totalMinutes = Math.round(r.stages.reduce((sum, s) => sum + s.minutes, 0));
  writeFileSync(cardFile, `# SLHF Refine tiny default refiner

A tiny demo model, embedded in the extension so that it does something useful offline on first run.
It fixes typos, common misspellings, doubled words, a lowercase sentence start, stray spaces and a
missing final full stop in short English sentences. It is not a language model you can instruct:
it sees only the text to refine. For real work, switch to a real model, for example
\`Qwen/Qwen2.5-0.5B-Instruct\` (the setting \`slhf.follower.model\`, the command "SLHF: Select Models",
or \`--follower\` on the CLI).

- Architecture: Qwen2-style decoder, ${r.config.numLayers} layers, hidden ${r.config.hiddenSize}, ${r.config.numHeads} heads (${r.config.numKvHeads} KV heads), MLP ${r.config.intermediateSize}, tied embeddings; about ${(params / 1e6).toFixed(2)} M parameters, float32.
- Tokenizer: byte-level BPE (${r.config.vocabSize} ids), the project's own fixture tokenizer; chat template renders only the draft.
- Decoding: greedy (\`do_sample: false\` in generation_config.json). Sampled, it adds typos of its own.
- Trained from scratch by \`npm run train:default-model\` with this project's ONNX Runtime trainer.

## Examples
The model's own outputs (greedy, through the refiner), written by the recipe:

| input | output | as wanted? |
| --- | --- | --- |
${examples}

## Data
Sentences from the fortune-mod cookie files, under fortune-mod's BSD licence: ${r.smallCorpus.train.length} from Debian's
\`${r.smallCorpus.source.package}\` package (files: ${r.smallCorpus.source.files.join(', ')}) for the first two phases, and
${r.corpus.train.length} from \`${r.corpus.source.package}\` (${r.corpus.source.files.length} files: ${r.corpus.source.files.join(', ')}) for the later phases and for SLHF.
Half of each phase's examples are sentences of random words drawn from the same text, so that the
model learns to copy rather than to recite: at their frequencies in the text, and in the last phase
every distinct word equally often, so that rare words get copied too. Each sentence is corrupted at
random (seeded), and clean sentences are mixed in so that the model learns to leave good text alone.
${r.corpus.heldOut.length} sentences are held out (split by a hash of the sentence, so the same ones in both packages)
and never trained on.

## Training
| stage | steps (SFT) / pairs (SLHF) | minutes (2-core machine) | final loss |
| --- | ---: | ---: | ---: |
${stages}

About ${totalMinutes} minutes of training in all on the 2-core machine that made this model (minutes vary with
its load), plus the measurement below.

## Quality on held-out sentences
${r.heldOutPairs} held-out pairs (${after.corrupted} corrupted, ${after.clean} clean: every third held-out sentence), one greedy
refinement through the refiner itself (exported ONNX graph, transformers.js). One pair moves the
exact-fix rate by ${(100 / Math.max(1, after.corrupted)).toFixed(1)} points and the damage rate by ${(100 / Math.max(1, after.clean)).toFixed(1)}.

| model | exact-fix rate | damage rate (clean text changed) |
| --- | ---: | ---: |
| after the supervised warm start | ${pct(r.before.metrics.exactFixRate)} | ${pct(r.before.metrics.damageRate)} |
| after SLHF (this model) | ${pct(after.exactFixRate)} | ${pct(after.damageRate)} |

Exact fixes by corruption kind (a pair counts once for each kind applied to it):

| kind | pairs | exact-fix rate |
| --- | ---: | ---: |
${kinds}

Some misses:
${misses}

## Known weaknesses
- It knows the spelling of the words in its training text and little else: a typo in a rare word
  usually stays, and it sometimes changes a letter of a word it has not seen while copying. Review
  its diffs; the damage rate above says how often it changes clean text.
- It knows nothing but the kinds of errors above, in short English sentences; longer text degrades.
${missedExamples.map((e) => `- It gets \`${e.input}\` wrong: \`${e.output}\`, where \`${e.want}\` was wanted.\n`).join('')}${benchSection}`);
}
