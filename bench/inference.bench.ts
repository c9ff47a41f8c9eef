// Greedy generation on CPU, ours against PyTorch (bench/peers/decode.py) on the same checkpoint,
// prompt, thread count and dtype (float32): time to first token, prefill and decode tokens/s, peak
// RSS, and our figures against the hardware limits measured in the same run (hardware.bench.ts).
// Ours is what the refiner runs: the checkpoint exported by its model cache (prepareModel), loaded
// by transformers.js on ORT CPU, each token chosen by the refiner's chooseToken in a logits processor.
// Rows for other inference-graph variants (VARIANTS: export options) follow, timed the same way
// against the same peer run.
// the Qwen2.5-0.5B shape runs too unless SLHF_BENCH_05B=0 (minutes; ~2 GB fixture cached in os.tmpdir()).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { parseDecoderConfig, type DecoderConfig } from '../src/models/config';
import { decoderTensorLayout } from '../src/models/weights-layout';
import { seededRandom } from '../src/base/seeded-random';
import { chooseToken } from '../src/models/token-choice';
import { type BenchContext, type BenchRow, PYTHON, OPENBLAS_HINT, median, peerEnv, torchPeer, withHalfBillionShape } from './framework';
import { hardwareLimits, hardwareRowsOnce } from './hardware.bench';
import type { ExportOptions } from '../src/models/export';
import { ensureFixture, ensureVariantExport, TINY_FIXTURE, QWEN_05B_FIXTURE, type InferenceFixture } from './inference-fixtures';

const PROMPT_TOKENS = 128;
const NEW_TOKENS = 64;
const GREEDY = { temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1 };
/**
 * Graph variants timed beside the refiner's own export (which the main rows measure), each exported
 * fresh from the current graph code: the plain and contrib rows compare like with like.
 */
const VARIANTS: { label: string; options: ExportOptions }[] = [
  { label: 'plain graph', options: { graph: 'plain' } },
  { label: 'contrib graph', options: { graph: 'contrib' } },
];

interface Timing { ttft_ms: number; decode_ms: number }
interface SideResult { runs: Timing[]; tokens: number[]; firstLogits: Float32Array; peakRssMb: number | null }

/** Peak RSS since the last reset; writing 5 to clear_refs resets it (Linux), so a fixture's peak is its own. */
function peakRssMb(): number | null {
  try {
    const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
    return line ? Number(line.split(/\s+/)[1]) / 1024 : null;
  } catch {
    return null;
  }
}
function resetPeakRss(): void {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // not Linux: the peak then covers the whole bench process
  }
}

/** Ids of ordinary tokens: everything below the first special token (specials and padding rows follow it). */
function firstSpecialId(onnxDir: string): number {
  const added = (JSON.parse(readFileSync(join(onnxDir, 'tokenizer.json'), 'utf8')).added_tokens ?? []) as { id: number; special: boolean }[];
  return Math.min(...added.filter((t) => t.special).map((t) => t.id));
}

async function runOurs(onnxDir: string, prompt: number[], masked: number, f: InferenceFixture, context: BenchContext): Promise<SideResult> {
  const { env, AutoModelForCausalLM, LogitsProcessor, Tensor } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = dirname(onnxDir);
  resetPeakRss();
  // As the refiner's host loads it (cpu, fp32), plus the thread count the peer gets too.
  const model: any = await AutoModelForCausalLM.from_pretrained(basename(onnxDir), {
    device: 'cpu', dtype: 'fp32', session_options: { intraOpNumThreads: context.threads, interOpNumThreads: 1 },
  });
  let tokens: number[] = [];
  let firstAt = 0;
  let firstLogits = new Float32Array(0);
  class Greedy extends LogitsProcessor {
    override _call(inputIds: bigint[][], logits: any): any {
      const data = logits.data as Float32Array;
      if (tokens.length === 0) firstLogits = Float32Array.from(data);
      data.fill(-Infinity, masked); // end-of-sequence and other specials, masked on both sides
      const choice = chooseToken(data, inputIds[0].map(Number), GREEDY, Math.random);
      data.fill(-Infinity);
      data[choice.token] = 0;
      tokens.push(choice.token);
      if (tokens.length === 1) firstAt = performance.now();
      return logits;
    }
  }
  const generate = async (): Promise<Timing> => {
    tokens = [];
    const start = performance.now();
    await model.generate({
      input_ids: new Tensor('int64', BigInt64Array.from(prompt, BigInt), [1, prompt.length]),
      attention_mask: new Tensor('int64', new BigInt64Array(prompt.length).fill(1n), [1, prompt.length]),
      max_new_tokens: NEW_TOKENS, min_new_tokens: null, min_length: 0,
      do_sample: false, num_beams: 1, repetition_penalty: 1.0, no_repeat_ngram_size: 0,
      logits_processor: [new Greedy()],
    });
    const end = performance.now();
    if (tokens.length !== NEW_TOKENS) throw new Error(`generation stopped after ${tokens.length} of ${NEW_TOKENS} tokens`);
    return { ttft_ms: firstAt - start, decode_ms: end - firstAt };
  };
  try {
    await generate(); // warm-up
    const reference = [...tokens];
    const first = firstLogits;
    const runs: Timing[] = [];
    for (let i = 0; i < f.runs; i++) runs.push(await generate());
    return { runs, tokens: reference, firstLogits: first, peakRssMb: peakRssMb() };
  } finally {
    await model.dispose();
  }
}

function runPeer(checkpoint: string, prompt: number[], masked: number, vocab: number, f: InferenceFixture, context: BenchContext): SideResult & { blas: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bench-decode-'));
  try {
    const manifest = join(dir, 'manifest.json');
    const logitsFile = join(dir, 'logits.f32');
    const maskedIds = Array.from({ length: vocab - masked }, (_, i) => masked + i);
    writeFileSync(manifest, JSON.stringify({ checkpoint, prompt, new_tokens: NEW_TOKENS, masked_ids: maskedIds, threads: context.threads, runs: f.runs, logits_file: logitsFile }));
    const out = JSON.parse(execFileSync(PYTHON, [join(__dirname, 'peers', 'decode.py'), manifest], { encoding: 'utf8', env: peerEnv(context.threads), maxBuffer: 1 << 24 })) as
      { runs: Timing[]; tokens: number[]; peak_rss_mb: number | null; blas: string };
    const bytes = readFileSync(logitsFile);
    const firstLogits = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    return { runs: out.runs, tokens: out.tokens, firstLogits, peakRssMb: out.peak_rss_mb, blas: out.blas };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The work that bounds each phase: bytes streamed per decoded token (every matrix, the embedding only
 * as a tied head, plus the KV cache read) and matmul FLOPs of a prefill (the layers for every prompt
 * token, the head for the last one only: the next token needs no other logits).
 */
function phaseWork(config: DecoderConfig): { matmulParams: number; decodeBytes: number; prefillFlops: number } {
  let matmulParams = 0;
  for (const slot of decoderTensorLayout(config)) {
    const n = slot.shape.reduce((a, b) => a * b, 1);
    if (slot.role === 'linear' || (slot.role === 'embedding' && config.tieWordEmbeddings)) matmulParams += n;
  }
  const headParams = config.vocabSize * config.hiddenSize;
  const kvAtMidDecode = 2 * config.numLayers * config.numKvHeads * config.headDim * (PROMPT_TOKENS + NEW_TOKENS / 2);
  const prefillFlops = 2 * ((matmulParams - headParams) * PROMPT_TOKENS + headParams);
  return { matmulParams, decodeBytes: 4 * (matmulParams + kvAtMidDecode), prefillFlops };
}

interface Figures { ttftMs: number; prefillTps: number; decodeTps: number }

function figures(runs: Timing[], prompt: number): Figures {
  const ttftMs = median(runs.map((r) => r.ttft_ms));
  return { ttftMs, prefillTps: prompt / (ttftMs / 1000), decodeTps: median(runs.map((r) => (NEW_TOKENS - 1) / (r.decode_ms / 1000))) };
}

function sameTokens(a: number[], b: number[]): string {
  const differ = a.findIndex((t, i) => t !== b[i]);
  return differ === -1 ? `greedy tokens identical (${NEW_TOKENS})` : `greedy tokens identical for the first ${differ} of ${NEW_TOKENS}`;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`logits differ in length: ${a.length} vs ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

async function benchFixture(f: InferenceFixture, context: BenchContext): Promise<BenchRow[]> {
  const { checkpoint, onnx } = await ensureFixture(f, context.log);
  const config = parseDecoderConfig(JSON.parse(readFileSync(join(checkpoint, 'config.json'), 'utf8')));
  const masked = firstSpecialId(onnx);
  const rand = seededRandom(5);
  const prompt = Array.from({ length: PROMPT_TOKENS }, () => Math.floor(rand() * masked));
  context.log(`${f.name}: ours (${f.runs} runs of ${PROMPT_TOKENS} prompt + ${NEW_TOKENS} new tokens)...`);
  const oursDone = await runOurs(onnx, prompt, masked, f, context);
  const o = figures(oursDone.runs, PROMPT_TOKENS);
  const torch = torchPeer();
  let peer: (SideResult & { blas: string }) | undefined;
  let note = `${config.numLayers} layers, hidden ${config.hiddenSize}, ${config.numHeads}/${config.numKvHeads} heads, ffn ${config.intermediateSize}, vocab ${config.vocabSize}; float32, ${context.threads} threads; median of ${f.runs} runs after a warm-up; peer `;
  if (!torch.ok) note += torch.reason;
  else {
    context.log(`${f.name}: PyTorch peer...`);
    peer = runPeer(checkpoint, prompt, masked, config.vocabSize, f, context);
    const diff = maxAbsDiff(oursDone.firstLogits, peer.firstLogits);
    // 1e-3 on O(1) logits is far above float32 summation-order noise and far below any wrong weight or op.
    const verdict = diff <= 1e-3 ? 'same model' : 'NOT THE SAME MODEL (the figures are not comparable)';
    note += `torch ${torch.version} with ${peer.blas} BLAS${peer.blas === 'openblas' ? '' : ` (${OPENBLAS_HINT})`}; ${verdict}: first-step logits agree within ${diff.toExponential(1)} (max abs), `;
    note += sameTokens(peer.tokens, oursDone.tokens);
  }
  const p = peer ? figures(peer.runs, PROMPT_TOKENS) : undefined;
  const variantRows: BenchRow[] = [];
  for (const v of VARIANTS) {
    const dir = await ensureVariantExport(checkpoint, v.options, context.log);
    context.log(`${f.name}: ours, ${v.label}...`);
    const done = await runOurs(dir, prompt, masked, f, context);
    const vf = figures(done.runs, PROMPT_TOKENS);
    const agreement = `${v.label} (${JSON.stringify(v.options)}); against the refiner's export: first-step logits within ` +
      `${maxAbsDiff(done.firstLogits, oursDone.firstLogits).toExponential(1)} (max abs), ${sameTokens(done.tokens, oursDone.tokens)}`;
    variantRows.push(
      { name: `${f.name}, ${v.label}: time to first token`, ours: vf.ttftMs, peer: p?.ttftMs ?? null, unit: 'ms', note: agreement },
      { name: `${f.name}, ${v.label}: prefill`, ours: vf.prefillTps, peer: p?.prefillTps ?? null, unit: 'tokens/s', higherIsBetter: true },
      { name: `${f.name}, ${v.label}: decode`, ours: vf.decodeTps, peer: p?.decodeTps ?? null, unit: 'tokens/s', higherIsBetter: true },
    );
  }
  const hw = await hardwareLimits(context);
  const work = phaseWork(config);
  const decodeLimit = hw.bandwidth / work.decodeBytes;
  const prefillLimit = PROMPT_TOKENS * hw.flops / work.prefillFlops;
  const limitNote = (what: string, peerTps: number | undefined, limit: number): string =>
    `peer column = the hardware limit; ${what}${peerTps !== undefined ? `; PyTorch reaches ${(100 * peerTps / limit).toFixed(0)}% of it` : ''}`;
  return [
    { name: `${f.name}: time to first token (${PROMPT_TOKENS}-token prompt)`, ours: o.ttftMs, peer: p?.ttftMs ?? null, unit: 'ms', note },
    { name: `${f.name}: prefill`, ours: o.prefillTps, peer: p?.prefillTps ?? null, unit: 'tokens/s', higherIsBetter: true },
    { name: `${f.name}: decode (greedy, ${NEW_TOKENS} tokens)`, ours: o.decodeTps, peer: p?.decodeTps ?? null, unit: 'tokens/s', higherIsBetter: true },
    { name: `${f.name}: peak RSS`, ours: oursDone.peakRssMb ?? 0, peer: peer?.peakRssMb ?? null, unit: 'MB',
      note: 'VmHWM while loading and generating; ours is the bench process (its own peak reset first), the peer its python process' },
    { name: `${f.name}: decode vs bandwidth limit`, ours: o.decodeTps, peer: decodeLimit, unit: 'tokens/s', higherIsBetter: true,
      note: limitNote(`${(work.decodeBytes / 1e6).toFixed(1)} MB read per token / ${(hw.bandwidth / 1e9).toFixed(1)} GB/s copy bandwidth`, p?.decodeTps, decodeLimit) },
    { name: `${f.name}: prefill vs GEMM limit`, ours: o.prefillTps, peer: prefillLimit, unit: 'tokens/s', higherIsBetter: true,
      note: limitNote(`${(hw.flops / 1e9).toFixed(1)} GFLOP/s / ${(work.prefillFlops / PROMPT_TOKENS / 1e9).toPrecision(3)} GFLOP per prompt token (2 x ${(work.matmulParams / 1e6).toFixed(1)}M matmul params, head on the last token only)`, p?.prefillTps, prefillLimit) },
    ...variantRows,
  ];
}

export async function run(context: BenchContext): Promise<BenchRow[]> {
  const fixtures = [TINY_FIXTURE, ...(withHalfBillionShape() ? [QWEN_05B_FIXTURE] : [])];
  const rows: BenchRow[] = [];
  for (const f of fixtures) rows.push(...(await benchFixture(f, context)));
  // The limits the rows above are measured against, when the hardware bench itself was filtered out.
  return [...(await hardwareRowsOnce(context)), ...rows];
}
