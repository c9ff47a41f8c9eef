// The recipe's held-out measurement through the refiner, and the model card.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DecoderConfig } from '../../src/models/config';
import { ModelHost } from '../../src/refiner';
import { refineOnce } from '../../bench/loop/simulate';
import type { RefinementPair } from '../../src/training/corruption';
import { fixMetrics, type FixMetrics } from '../../src/training/fix-metrics';
import type { Corpus } from './corpus';

/** Exact-fix and damage rates of a model folder, refining each input once, greedily, as the product does. */
export async function heldOutMetrics(modelDir: string, pairs: readonly RefinementPair[], cacheDir: string): Promise<FixMetrics> {
  const host = new ModelHost({ cacheDir, device: 'cpu' });
  host.configure({ leader: null, follower: { spec: modelDir, adapter: null } });
  try {
    return await fixMetrics(pairs, async (text) => (await refineOnce(host, text, 0, 0, 256)).text, 8);
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

export function writeModelCard(dir: string, r: { config: DecoderConfig; corpus: Corpus; stages: StageRecord[]; before: FixMetrics; after: FixMetrics; heldOutPairs: number }): void {
  const params = (r.config.vocabSize * r.config.hiddenSize) + r.config.numLayers * (
    r.config.hiddenSize * (r.config.numHeads + 2 * r.config.numKvHeads) * r.config.headDim + r.config.numHeads * r.config.headDim * r.config.hiddenSize + 3 * r.config.hiddenSize * r.config.intermediateSize);
  const kinds = Object.entries(r.after.byKind).map(([k, v]) => `| ${k} | ${v!.count} | ${pct(v!.rate)} |`).join('\n');
  const misses = r.after.misses.map((m) => `- in: \`${m.input}\`\n  want: \`${m.target}\`\n  got: \`${m.output}\``).join('\n');
  const stages = r.stages.map((s) => `| ${s.name} | ${s.steps} | ${s.minutes} | ${s.finalLoss === null ? 'n/a' : s.finalLoss.toFixed(4)} |`).join('\n');
  writeFileSync(join(dir, 'README.md'), `# SLHF Refine tiny default refiner

A tiny demo model, embedded in the extension so that it does something useful offline on first run.
It fixes typos, common misspellings, doubled words, a lowercase sentence start, stray spaces and a
missing final full stop in short English sentences. It is not a language model you can instruct:
it sees only the text to refine. For real work, switch to a real model, for example
\`Qwen/Qwen2.5-0.5B-Instruct\` (setting \`slhf.followerModel\`, or \`--follower\` on the CLI).

- Architecture: Qwen2-style decoder, ${r.config.numLayers} layers, hidden ${r.config.hiddenSize}, ${r.config.numHeads} heads (${r.config.numKvHeads} KV heads), MLP ${r.config.intermediateSize}, tied embeddings; about ${(params / 1e6).toFixed(2)} M parameters, float32.
- Tokenizer: byte-level BPE (${r.config.vocabSize} ids), the project's own fixture tokenizer; chat template renders only the draft.
- Trained from scratch by \`npm run train:default-model\` with this project's ONNX Runtime trainer, on ${r.corpus.train.length} sentences.

## Data
Sentences from Debian's \`${r.corpus.source.package}\` package (files: ${r.corpus.source.files.join(', ')}), the fortune-mod
cookie files, under the BSD licence of fortune-mod. Each sentence is corrupted at random (seeded),
and clean sentences are mixed in so that the model learns to leave good text alone. ${r.corpus.heldOut.length} sentences
are held out for the measurement below and never trained on.

## Training
| stage | steps (SFT) / pairs (SLHF) | minutes (2-core machine) | final loss |
| --- | ---: | ---: | ---: |
${stages}

## Quality on held-out sentences
${r.heldOutPairs} held-out pairs (${r.after.corrupted} corrupted, ${r.after.clean} clean), one greedy refinement through the
refiner itself (exported ONNX graph, transformers.js). The set is small: one pair moves the exact-fix rate
by ${(100 / Math.max(1, r.after.corrupted)).toFixed(1)} points and the damage rate by ${(100 / Math.max(1, r.after.clean)).toFixed(1)}.

| model | exact-fix rate | damage rate (clean text changed) |
| --- | ---: | ---: |
| after the supervised warm start | ${pct(r.before.exactFixRate)} | ${pct(r.before.damageRate)} |
| after SLHF (this model) | ${pct(r.after.exactFixRate)} | ${pct(r.after.damageRate)} |

Exact fixes by corruption kind (a pair counts once for each kind applied to it):

| kind | pairs | exact-fix rate |
| --- | ---: | ---: |
${kinds}

Some misses:
${misses}
`);
}
