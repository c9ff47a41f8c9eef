// Weight-only quantization (MatMulNBits, src/models/quantize.ts) for CPU decoding: greedy decode
// tokens/s of int8 and int4 graphs against the float32 graph of the same checkpoint (the comparison
// column here is our own fp32 graph, not PyTorch), and the quality cost as next-token log-prob drift
// over a fixed English text. Every variant runs through the same session loop (prefill, then one
// token at a time with the KV cache fed back), so the rows differ only in the weights' format.
// The fixtures have random weights, so their drift stands for no trained model's (a trained 4-layer
// model drifted about twice as much; see docs/models-graphs.md). All variants stay loaded so their
// runs can alternate: the Qwen2.5-0.5B shape runs too unless SLHF_BENCH_05B=0 (about 10 minutes, ~10 GB peak RSS).
// SLHF_QUANT_ACCURACY=0 runs the kernels with float activations instead of int8 (accuracy_level 4).
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { openCheckpoint } from '../src/models/checkpoint';
import type { DecoderConfig } from '../src/models/config';
import { loadDecoderWeights } from '../src/models/export';
import { buildInferenceGraph, pastName, presentName } from '../src/models/graphs';
import { collectGarbage } from '../src/models/memory';
import { logProbDrift, quantizeGraph, type QuantizeOptions } from '../src/models/quantize';
import { type Feed, type Graph, type Session, createSession, saveModel } from '../src/onnx';
import { type BenchContext, type BenchRow, median, withHalfBillionShape } from './framework';
import { ensureFixture, TINY_FIXTURE, QWEN_05B_FIXTURE, type InferenceFixture } from './inference-fixtures';

const NEW_TOKENS = 32;
const PROMPT_TOKENS = 128;
const TEXT = 'The old lighthouse keeper climbed the spiral stairs every evening at dusk, carrying a tin of oil and a ' +
  'cloth for the great lens. From the gallery he could see the fishing boats returning to the harbour, their ' +
  'lanterns swaying with the swell, and beyond them the dark line where the sea met a sky that was turning from ' +
  'orange to violet. He had kept the light burning for thirty-one years, through storms that tore slates from ' +
  'the roof and winters when ice sealed the door, and in all that time no ship had foundered on the rocks below. ' +
  'The villagers brought him bread and news on Sundays; the children asked whether he was ever lonely, and he ' +
  'would laugh and point at the gulls, the seals on the skerries and the endless procession of weather.';

interface Variant { label: string; options?: QuantizeOptions }

function variants(): Variant[] {
  const accuracyLevel = process.env.SLHF_QUANT_ACCURACY === '0' ? 0 : 4;
  const q = (bits: 4 | 8, shared: 'float' | 'copy'): Variant => ({
    label: `int${bits}${shared === 'copy' ? ' + head' : ''}${accuracyLevel === 0 ? ' (accuracy_level 0)' : ''}`,
    options: { bits, shared, accuracyLevel },
  });
  return [{ label: 'fp32' }, q(8, 'float'), q(4, 'float'), q(8, 'copy'), q(4, 'copy')];
}

/** The variant's graph from the checkpoint, saved to `dir`, and what quantizing it did. */
async function writeVariant(checkpointDir: string, variant: Variant, path: string): Promise<string> {
  const checkpoint = await openCheckpoint(checkpointDir);
  let graph: Graph;
  try {
    graph = buildInferenceGraph(checkpoint.config, await loadDecoderWeights(checkpoint), { consume: true, external: true });
  } finally {
    await checkpoint.close();
  }
  let note = '';
  if (variant.options) {
    const start = performance.now();
    const r = quantizeGraph(graph, variant.options);
    const seconds = (performance.now() - start) / 1000;
    note = `${r.quantized.length} matrices, ${(r.floatBytes / 1e6).toFixed(1)} MB float -> ${(r.quantizedBytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(1)} s`;
    if (r.kept.length > 0) note += `; kept float: ${r.kept.map((k) => k.name).join(', ')}`;
  }
  await saveModel(graph, path, { externalDataFile: 'model.onnx_data' });
  return note;
}

function emptyPast(config: DecoderConfig): Record<string, Feed> {
  const feeds: Record<string, Feed> = {};
  for (let l = 0; l < config.numLayers; l++) {
    for (const kind of ['key', 'value'] as const) {
      feeds[pastName(l, kind)] = { dtype: 'float32', data: new Float32Array(0), dims: [1, config.numKvHeads, 0, config.headDim] };
    }
  }
  return feeds;
}

const ids64 = (ids: number[]): Feed => ({ dtype: 'int64', data: ids, dims: [1, ids.length] });

/** One pass over `ids` with an empty cache; `keep` = logits for the last `keep` positions (0: all). */
async function forward(session: Session, config: DecoderConfig, ids: number[], keep: number): Promise<Record<string, any>> {
  const feeds: Record<string, Feed> = {
    input_ids: ids64(ids), attention_mask: ids64(ids.map(() => 1)), position_ids: ids64(ids.map((_, i) => i)), ...emptyPast(config),
  };
  if (session.inputNames.includes('num_logits_to_keep')) feeds.num_logits_to_keep = { dtype: 'int64', data: [keep], dims: [] };
  return session.run(feeds);
}

function argMaxLast(logits: Float32Array, vocab: number): number {
  let best = logits.length - vocab;
  for (let i = best + 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best - (logits.length - vocab);
}

/** Greedy decoding of NEW_TOKENS after the prompt; returns decode tokens/s (the first token is the prefill's). */
async function decodeTps(session: Session, config: DecoderConfig, prompt: number[]): Promise<{ tps: number; tokens: number[] }> {
  let out = await forward(session, config, prompt, 1);
  const tokens = [argMaxLast(out.logits.data as Float32Array, config.vocabSize)];
  const start = performance.now();
  for (let step = 1; step < NEW_TOKENS; step++) {
    const total = prompt.length + step;
    const feeds: Record<string, Feed> = {
      input_ids: ids64([tokens[step - 1]]), attention_mask: ids64(new Array(total).fill(1)), position_ids: ids64([total - 1]),
    };
    if (session.inputNames.includes('num_logits_to_keep')) feeds.num_logits_to_keep = { dtype: 'int64', data: [1], dims: [] };
    for (let l = 0; l < config.numLayers; l++) {
      for (const kind of ['key', 'value'] as const) feeds[pastName(l, kind)] = out[presentName(l, kind)];
    }
    out = await session.run(feeds);
    tokens.push(argMaxLast(out.logits.data as Float32Array, config.vocabSize));
  }
  return { tps: (NEW_TOKENS - 1) / ((performance.now() - start) / 1000), tokens };
}

async function textIds(checkpointDir: string): Promise<number[]> {
  const { Tokenizer } = await import('@huggingface/tokenizers');
  const read = (name: string) => JSON.parse(readFileSync(join(checkpointDir, name), 'utf8'));
  return new Tokenizer(read('tokenizer.json'), read('tokenizer_config.json')).encode(TEXT).ids.slice(0, PROMPT_TOKENS);
}

interface Loaded { variant: Variant; session: Session; note: string; logits: Float32Array; runs: { tps: number; tokens: number[] }[] }

async function benchFixture(f: InferenceFixture, context: BenchContext, root: string): Promise<BenchRow[]> {
  const { checkpoint } = await ensureFixture(f, context.log);
  const info = await openCheckpoint(checkpoint);
  const config = info.config;
  await info.close();
  const ids = await textIds(checkpoint);
  const loaded: Loaded[] = [];
  try {
    for (const [i, variant] of variants().entries()) {
      context.log(`${f.name}: building ${variant.label}...`);
      const path = join(root, `${i}`, 'model.onnx');
      mkdirSync(dirname(path), { recursive: true });
      const note = await writeVariant(checkpoint, variant, path);
      await collectGarbage(); // the graph's weights, before ONNX Runtime loads its own copy
      const session = await createSession(path, { device: 'cpu', intraOpThreads: context.threads, interOpThreads: 1 });
      loaded.push({ variant, session, note, logits: Float32Array.from((await forward(session, config, ids, 0)).logits.data as Float32Array), runs: [] });
      await decodeTps(session, config, ids); // warm-up
    }
    // Round robin, so that load from other processes falls on every variant alike.
    context.log(`${f.name}: ${f.runs} rounds of ${NEW_TOKENS} greedy tokens per variant...`);
    for (let r = 0; r < f.runs; r++) for (const l of loaded) l.runs.push(await decodeTps(l.session, config, ids));
  } finally {
    for (const l of loaded) await l.session.release();
  }
  const [fp32, ...quantized] = loaded;
  const tps = (l: Loaded): number => median(l.runs.map((r) => r.tps));
  const rows: BenchRow[] = [{ name: `${f.name}: decode fp32 (own loop)`, ours: tps(fp32), peer: null, unit: 'tokens/s', higherIsBetter: true,
    note: `greedy, ${ids.length}-token prompt + ${NEW_TOKENS} tokens, median of ${f.runs} runs interleaved with the quantized variants, ${context.threads} threads; the baseline of the rows below` }];
  for (const l of quantized) {
    const drift = logProbDrift(fp32.logits, l.logits, ids, config.vocabSize);
    const same = l.runs[0].tokens.findIndex((t, i) => t !== fp32.runs[0].tokens[i]);
    rows.push({ name: `${f.name}: decode ${l.variant.label}`, ours: tps(l), peer: tps(fp32), unit: 'tokens/s', higherIsBetter: true,
      note: `peer column = our fp32 graph; ${l.note}; greedy tokens ${same === -1 ? `identical to fp32 (${NEW_TOKENS})` : `identical to fp32 for the first ${same}`}` });
    rows.push({ name: `${f.name}: ${l.variant.label} log-prob drift`, ours: drift.meanAbs, peer: null, unit: 'nats (mean |Δ log p|)',
      note: `next token over ${drift.positions} positions of a fixed text: max |Δ| ${drift.maxAbs.toFixed(3)}, top-1 agreement ${(100 * drift.top1Agreement).toFixed(1)}%; ` +
        `fp32 entropy ${drift.referenceEntropy.toFixed(2)} nats of ln(vocab) ${Math.log(config.vocabSize).toFixed(2)}; random weights, so not a trained model's drift` });
  }
  return rows;
}

export async function run(context: BenchContext): Promise<BenchRow[]> {
  const fixtures = [TINY_FIXTURE, ...(withHalfBillionShape() ? [QWEN_05B_FIXTURE] : [])];
  const rows: BenchRow[] = [];
  const root = mkdtempSync(join(tmpdir(), 'bench-quant-'));
  try {
    for (const f of fixtures) rows.push(...(await benchFixture(f, context, join(root, f.shape.hidden.toString()))));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return rows;
}
