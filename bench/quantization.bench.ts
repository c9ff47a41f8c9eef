// Quantized exports (MatMulNBits + GatherBlockQuantized, src/models/quantize.ts) for CPU decoding, each
// variant built by the product's export path (exportOnnx) and run through the same session loop, so the
// rows differ only in the export's format:
// - the built-in model (assets/default-model): exact-fix and damage rates on the model card's held-out
//   pairs (greedy, the refiner's prompt; needs Debian's fortune files, see recipes/default-model),
//   next-token log-prob drift against fp32 over those pairs' prompt + target, and decode ms/token;
// - the Qwen2.5-0.5B shape (random weights; unless SLHF_BENCH_05B=0): decode ms/token (wall and CPU,
//   the CPU time moves less when other jobs share the machine) after a 128-token prompt, drift over a
//   fixed English text, and the resident memory each session adds.
// "before" is the format quantized exports had until issue 20: asymmetric (zero points), block 32,
// plain graph, the tied head quantized as a copy and the lookup gathering a float32 copy of the table.
// All of a model's variants stay loaded so that their runs alternate. SLHF_QUANT_BLOCKS=32,128 picks the
// block sizes of the symmetric variants (default 32,64,128).
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCheckpoint } from '../src/models/checkpoint';
import type { DecoderConfig } from '../src/models/config';
import { defaultModelDir } from '../src/models/default-model';
import { exportOnnx, onnxFileNames, transformersDType, type ExportOptions } from '../src/models/export';
import { pastName, presentName } from '../src/models/graphs';
import { collectGarbage } from '../src/base/memory';
import { loadTokenizer, type TextTokenizer } from '../src/models/tokenizer';
import { logProbDrift } from '../src/models/quantize';
import { type Feed, type Session, createSession } from '../src/onnx';
import { makeRefinementPairs, type RefinementPair } from '../lab/corruption';
import { loadCorpus } from '../lab/corpus';
import { promptIds } from '../lab/follower-prompt';
import { type BenchContext, type BenchRow, median, withHalfBillionShape } from './framework';
import { ensureFixture, QWEN_05B_FIXTURE } from './inference-fixtures';

const NEW_TOKENS = 32;
const PROMPT_TOKENS = 128;
const TEXT = 'The old lighthouse keeper climbed the spiral stairs every evening at dusk, carrying a tin of oil and a ' +
  'cloth for the great lens. From the gallery he could see the fishing boats returning to the harbour, their ' +
  'lanterns swaying with the swell, and beyond them the dark line where the sea met a sky that was turning from ' +
  'orange to violet. He had kept the light burning for thirty-one years, through storms that tore slates from ' +
  'the roof and winters when ice sealed the door, and in all that time no ship had foundered on the rocks below. ' +
  'The villagers brought him bread and news on Sundays; the children asked whether he was ever lonely, and he ' +
  'would laugh and point at the gulls, the seals on the skerries and the endless procession of weather.';

interface Variant { label: string; options: ExportOptions }

const before = (bits: 4 | 8): Variant => ({ label: `int${bits} before (asymmetric, block 32, plain, float lookup)`, options: { graph: 'plain', quantize: { bits, symmetric: false, shared: 'copy' } } });
const symmetric = (bits: 4 | 8, blockSize: number, graph: 'plain' | 'contrib' = 'contrib'): Variant => ({
  label: `int${bits} symmetric block ${blockSize}, ${graph}, quantized lookup`, options: { graph, quantize: { bits, blockSize } },
});

function variants(builtIn: boolean): Variant[] {
  const blocks = (process.env.SLHF_QUANT_BLOCKS ?? '32,64,128').split(',').map(Number);
  const list: Variant[] = [{ label: 'fp32 plain', options: { graph: 'plain' } }, { label: 'fp32 contrib', options: { graph: 'contrib' } }];
  for (const bits of [8, 4] as const) {
    list.push(before(bits), ...blocks.map((b) => symmetric(bits, b)));
    if (builtIn) list.push(symmetric(bits, 32, 'plain'));
  }
  return list;
}

const ids64 = (ids: number[]): Feed => ({ dtype: 'int64', data: ids, dims: [1, ids.length] });

function emptyPast(config: DecoderConfig): Record<string, Feed> {
  const feeds: Record<string, Feed> = {};
  for (let l = 0; l < config.numLayers; l++) {
    for (const kind of ['key', 'value'] as const) {
      feeds[pastName(l, kind)] = { dtype: 'float32', data: new Float32Array(0), dims: [1, config.numKvHeads, 0, config.headDim] };
    }
  }
  return feeds;
}

/** One pass over `ids` with an empty cache; `keep` = logits for the last `keep` positions (0: all). */
async function forward(session: Session, config: DecoderConfig, ids: number[], keep: number): Promise<Record<string, any>> {
  return session.run({
    input_ids: ids64(ids), attention_mask: ids64(ids.map(() => 1)), position_ids: ids64(ids.map((_, i) => i)), ...emptyPast(config),
    num_logits_to_keep: { dtype: 'int64', data: [keep], dims: [] },
  });
}

function argMaxLast(logits: Float32Array, vocab: number): number {
  let best = logits.length - vocab;
  for (let i = best + 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best - (logits.length - vocab);
}

interface Decoded { tokens: number[]; steps: number; wallMs: number; cpuMs: number }

/** Greedy decoding after `prompt` until a stop id or `max` tokens; times the steps after the prefill. */
async function greedy(session: Session, config: DecoderConfig, prompt: number[], max: number, stop: readonly number[] = []): Promise<Decoded> {
  let out = await forward(session, config, prompt, 1);
  const tokens = [argMaxLast(out.logits.data as Float32Array, config.vocabSize)];
  const wall = performance.now();
  const cpu = process.cpuUsage();
  while (tokens.length < max && !stop.includes(tokens.at(-1)!)) {
    const total = prompt.length + tokens.length;
    const feeds: Record<string, Feed> = {
      input_ids: ids64([tokens.at(-1)!]), attention_mask: ids64(new Array(total).fill(1)), position_ids: ids64([total - 1]),
      num_logits_to_keep: { dtype: 'int64', data: [1], dims: [] },
    };
    for (let l = 0; l < config.numLayers; l++) {
      for (const kind of ['key', 'value'] as const) feeds[pastName(l, kind)] = out[presentName(l, kind)];
    }
    out = await session.run(feeds);
    tokens.push(argMaxLast(out.logits.data as Float32Array, config.vocabSize));
  }
  const used = process.cpuUsage(cpu);
  return { tokens, steps: tokens.length - 1, wallMs: performance.now() - wall, cpuMs: (used.user + used.system) / 1000 };
}

interface Loaded { variant: Variant; session: Session; residentMB: number; fileMB: number }

/** Exports every variant of `checkpoint` and opens a session on each; resident memory is measured per session. */
async function loadAll(checkpoint: string, list: Variant[], root: string, context: BenchContext): Promise<Loaded[]> {
  const loaded: Loaded[] = [];
  for (const [i, variant] of list.entries()) {
    context.log(`exporting ${variant.label}...`);
    const dir = join(root, String(i));
    const options = variant.options;
    const started = performance.now();
    await exportOnnx(checkpoint, dir, options);
    const names = onnxFileNames(transformersDType(options));
    const fileMB = statSync(join(dir, 'onnx', names.data)).size / 1e6;
    context.log(`  ${((performance.now() - started) / 1000).toFixed(1)} s, ${fileMB.toFixed(1)} MB of weights`);
    await collectGarbage();
    const rss = process.memoryUsage.rss();
    const session = await createSession(join(dir, names.model), { device: 'cpu', intraOpThreads: context.threads, interOpThreads: 1 });
    loaded.push({ variant, session, fileMB, residentMB: (process.memoryUsage.rss() - rss) / 1e6 });
  }
  return loaded;
}

async function textIds(dir: string, text: string): Promise<number[]> {
  const { Tokenizer } = await import('@huggingface/tokenizers');
  const read = (name: string) => JSON.parse(readFileSync(join(dir, name), 'utf8'));
  return new Tokenizer(read('tokenizer.json'), read('tokenizer_config.json')).encode(text).ids;
}

const driftNote = (d: ReturnType<typeof logProbDrift>) => `max |Δ| ${d.maxAbs.toFixed(3)}, top-1 agreement ${(100 * d.top1Agreement).toFixed(1)}%`;

/** The model card's held-out pairs (recipes/default-model/train.ts), or null without the fortune files. */
function heldOutPairs(log: (m: string) => void): RefinementPair[] | null {
  try {
    const corpus = loadCorpus();
    return makeRefinementPairs(corpus.heldOut.filter((_, i) => i % 3 === 0), { seed: 12345, cleanRate: 0.3, maxCorruptions: 2 });
  } catch (err) {
    log(`no held-out pairs, so no fix rates: ${(err as Error).message}`);
    return null;
  }
}

async function benchBuiltIn(context: BenchContext, root: string): Promise<BenchRow[]> {
  const dir = defaultModelDir();
  const info = await openCheckpoint(dir);
  const config = info.config;
  await info.close();
  const tokenizer: TextTokenizer = await loadTokenizer(dir);
  const pairs = heldOutPairs(context.log) ?? [{ input: 'teh cat sat on the the mat', target: 'The cat sat on the mat.', applied: [] }];
  const prompts = pairs.map((p) => promptIds(tokenizer, p.input));
  const loaded = await loadAll(dir, variants(true), root, context);
  const rows: BenchRow[] = [];
  try {
    // Drift: next-token log-probs over each pair's prompt + target, against fp32 plain.
    const sequences = pairs.slice(0, 100).map((p, i) => [...prompts[i], ...tokenizer.encode(p.target, { add_special_tokens: false }), config.eosTokenIds.at(-1)!]);
    const reference: Float32Array[] = [];
    for (const ids of sequences) reference.push(Float32Array.from((await forward(loaded[0].session, config, ids, 0)).logits.data as Float32Array));
    const results = new Map<Loaded, { outputs: string[]; steps: number; wallMs: number; cpuMs: number }>();
    for (const l of loaded) results.set(l, { outputs: [], steps: 0, wallMs: 0, cpuMs: 0 });
    context.log(`built-in model: ${pairs.length} held-out pairs, greedy, variants alternating pair by pair...`);
    for (const prompt of prompts) {
      for (const l of loaded) {
        const d = await greedy(l.session, config, prompt, Math.min(256, 2 * prompt.length + 16), config.eosTokenIds);
        const r = results.get(l)!;
        const body = config.eosTokenIds.includes(d.tokens.at(-1)!) ? d.tokens.slice(0, -1) : d.tokens;
        r.outputs.push(tokenizer.decode(body, { skip_special_tokens: true }).trim());
        r.steps += d.steps;
        r.wallMs += d.wallMs;
        r.cpuMs += d.cpuMs;
      }
    }
    const fp32Outputs = results.get(loaded[0])!.outputs;
    for (const l of loaded) {
      const r = results.get(l)!;
      const corrupted = pairs.filter((p) => p.applied.length > 0);
      const fixed = pairs.filter((p, i) => p.applied.length > 0 && r.outputs[i] === p.target).length;
      const damaged = pairs.filter((p, i) => p.applied.length === 0 && r.outputs[i] !== p.target).length;
      const sameAsFp32 = r.outputs.filter((o, i) => o === fp32Outputs[i]).length;
      let positions = 0;
      let sum = 0;
      let maxAbs = 0;
      let agree = 0;
      for (const [i, ids] of sequences.entries()) {
        const logits = Float32Array.from((await forward(l.session, config, ids, 0)).logits.data as Float32Array);
        const d = logProbDrift(reference[i], logits, ids, config.vocabSize);
        positions += d.positions;
        sum += d.meanAbs * d.positions;
        agree += d.top1Agreement * d.positions;
        maxAbs = Math.max(maxAbs, d.maxAbs);
      }
      const name = `built-in model: ${l.variant.label}`;
      rows.push({ name: `${name}: exact-fix rate`, ours: 100 * fixed / Math.max(1, corrupted.length), peer: null, unit: '%', higherIsBetter: true,
        note: `${fixed} of ${corrupted.length} corrupted held-out sentences restored exactly; clean ones changed: ${damaged} of ${pairs.length - corrupted.length}; outputs identical to fp32 plain: ${sameAsFp32} of ${pairs.length}` });
      rows.push({ name: `${name}: log-prob drift`, ours: sum / positions, peer: null, unit: 'nats (mean |Δ log p|)',
        note: `against fp32 plain over ${positions} positions of ${sequences.length} held-out prompts + targets: max |Δ| ${maxAbs.toFixed(3)}, top-1 agreement ${(100 * agree / positions).toFixed(1)}%` });
      rows.push({ name: `${name}: decode`, ours: r.wallMs / r.steps, peer: null, unit: 'ms/token',
        note: `${r.steps} greedy steps over the held-out pairs, CPU ${(r.cpuMs / r.steps).toFixed(3)} ms/token, ${context.threads} threads; weights ${l.fileMB.toFixed(2)} MB, session +${l.residentMB.toFixed(0)} MB RSS` });
    }
  } finally {
    for (const l of loaded) await l.session.release();
  }
  return rows;
}

async function bench05B(context: BenchContext, root: string): Promise<BenchRow[]> {
  const { checkpoint } = await ensureFixture(QWEN_05B_FIXTURE, context.log);
  const info = await openCheckpoint(checkpoint);
  const config = info.config;
  await info.close();
  const ids = (await textIds(checkpoint, TEXT)).slice(0, PROMPT_TOKENS);
  const loaded = await loadAll(checkpoint, variants(false), root, context);
  const runs = new Map<Loaded, Decoded[]>();
  const logits = new Map<Loaded, Float32Array>();
  try {
    for (const l of loaded) {
      logits.set(l, Float32Array.from((await forward(l.session, config, ids, 0)).logits.data as Float32Array));
      runs.set(l, []);
      await greedy(l.session, config, ids, 4); // warm-up
    }
    context.log(`0.5B shape: ${QWEN_05B_FIXTURE.runs} rounds of ${NEW_TOKENS} greedy tokens per variant, alternating...`);
    for (let r = 0; r < QWEN_05B_FIXTURE.runs; r++) for (const l of loaded) runs.get(l)!.push(await greedy(l.session, config, ids, NEW_TOKENS));
  } finally {
    for (const l of loaded) await l.session.release();
  }
  const fp32 = loaded[0];
  const msPerToken = (l: Loaded, what: 'wallMs' | 'cpuMs') => median(runs.get(l)!.map((d) => d[what] / d.steps));
  return loaded.map((l) => {
    const first = runs.get(l)![0].tokens;
    const same = first.findIndex((t, i) => t !== runs.get(fp32)![0].tokens[i]);
    const drift = l === fp32 ? null : logProbDrift(logits.get(fp32)!, logits.get(l)!, ids, config.vocabSize);
    const range = runs.get(l)!.map((d) => (d.wallMs / d.steps).toFixed(1));
    return {
      name: `0.5B shape: ${l.variant.label}: decode`, ours: msPerToken(l, 'wallMs'), peer: l === fp32 ? null : msPerToken(fp32, 'wallMs'), unit: 'ms/token',
      note: `peer column = fp32 plain; runs ${range.join(' / ')}, CPU ${msPerToken(l, 'cpuMs').toFixed(1)} ms/token; weights ${l.fileMB.toFixed(0)} MB, session +${l.residentMB.toFixed(0)} MB RSS; ` +
        (drift ? `drift ${drift.meanAbs.toFixed(3)} nats, ${driftNote(drift)}; ` : '') +
        `greedy tokens ${same === -1 ? `identical to fp32 (${first.length})` : `identical to fp32 for the first ${same}`}; ${ids.length}-token prompt, ${context.threads} threads`,
    };
  });
}

export async function run(context: BenchContext): Promise<BenchRow[]> {
  const root = mkdtempSync(join(tmpdir(), 'bench-quant-'));
  try {
    const rows = await benchBuiltIn(context, join(root, 'built-in'));
    if (withHalfBillionShape()) rows.push(...(await bench05B(context, join(root, '05b'))));
    return rows;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
