// llama.cpp as a peer (issue 20): the refiner's greedy decoding against llama.cpp's plain decoding
// (node-llama-cpp's prebuilt CPU binary) on the Qwen2.5-0.5B shape with random weights, the same
// safetensors checkpoint written to GGUF (bench/gguf) and to our exports, for the format pairs
// fp32/f32, int8/q8_0 and int4/q4_0, at 1 and 2 threads: prefill and decode tokens/s and peak RSS.
// - Ours is the product's path: exportOnnx with the refiner's CPU default format for this model size
//   (CPU_DEFAULT_FORMAT: graph and quantization) and only the weights' format varied (float32, int8,
//   int4); each is loaded by ModelHost (the refiner's thread setting) and decoded by generateText
//   with speculation off (SLHF_DRAFT_TOKENS=0: plain decoding here; bench/refinement.bench.ts
//   measures speculation).
// - llama.cpp gets the same prompt token ids (our chat-template rendering of a follower prompt)
//   and its defaults otherwise (f16 KV cache, flash attention as it decides), as its users run it.
// - Every engine/format/thread combination runs in a child process of its own (its peak RSS is its
//   own), a warm-up of 8 tokens then SLHF_LLAMA_RUNS timed runs; the children alternate ours/llama.cpp and the
//   rounds (SLHF_LLAMA_ROUNDS) repeat the whole list, so load from other processes falls on both.
//   The load average is read before each child; the notes give ranges over all timed runs.
// - Prompts: ~128 tokens, and ~1,024 for decode at 1k context at the first thread count, for the
//   formats in SLHF_LLAMA_LONG (default all; 0 for none),
//   64 greedy tokens. SLHF_LLAMA_THREADS (default "1,2"), SLHF_LLAMA_FORMATS ("fp32,int8,int4"),
//   SLHF_LLAMA_TIMEOUT_S (420: a child past it is killed and reported, not waited for).
// Writes ~3 GB of GGUF and exports to os.tmpdir()/slhf-bench-fixtures on first use (cached).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { CPU_DEFAULT_FORMAT, exportOnnx, type ExportOptions } from '../src/models/export';
import type { PromptParts } from '../src/base/generation-record';
import { DEFAULT_FOLLOWER_INSTRUCTION, promptMessages, renderPrompt } from '../src/models/prompts';
import { REFINER_PROCESS_RUNTIME } from '../src/refiner/client';
import { type BenchContext, type BenchRow, bundledScript, median, withHalfBillionShape } from './framework';
import type { DecodeJob, DecodeResult } from './gguf/decode-child';
import { checkpointToGguf, type GgufFileType } from './gguf/from-checkpoint';
import { ensureFixture, FIXTURE_ROOT, QWEN_05B_FIXTURE } from './inference-fixtures';

const NEW_TOKENS = 64;
const REPO = join(__dirname, '..');

interface FormatPair { ours: string; export: ExportOptions; gguf: GgufFileType }
/**
 * Our side of each pair is the refiner's CPU default format (CPU_DEFAULT_FORMAT: what it exports a
 * model of this size to) with only the weights' format changed, so these rows follow that default.
 */
const FORMATS: FormatPair[] = [
  { ours: 'fp32', export: { ...CPU_DEFAULT_FORMAT, quantize: null }, gguf: 'f32' },
  { ours: 'int8', export: { ...CPU_DEFAULT_FORMAT, quantize: CPU_DEFAULT_FORMAT.quantize && { ...CPU_DEFAULT_FORMAT.quantize, bits: 8 } }, gguf: 'q8_0' },
  { ours: 'int4', export: { ...CPU_DEFAULT_FORMAT, quantize: CPU_DEFAULT_FORMAT.quantize && { ...CPU_DEFAULT_FORMAT.quantize, bits: 4 } }, gguf: 'q4_0' },
];

const SENTENCES = [
  'The old lighthouse keeper climbed the spiral stairs every evening at dusk, carrying a tin of oil and a cloth for the great lens.',
  'From the gallery he could see the fishing boats returning to the harbour, their lanterns swaying with the swell.',
  'Beyond them lay the dark line where the sea met a sky that was turning from orange to violet.',
  'He had kept the light burning for thirty-one years, through storms that tore slates from the roof and winters when ice sealed the door.',
  'In all that time no ship had foundered on the rocks below, and the harbour master said so at every meeting.',
  'The villagers brought him bread and news on Sundays; the children asked whether he was ever lonely.',
  'He would laugh and point at the gulls, the seals on the skerries and the endless procession of weather.',
];

function sourcesHash(files: string[]): string {
  const h = createHash('sha256');
  for (const f of files.sort()) h.update(f).update(readFileSync(f));
  return h.digest('hex').slice(0, 16);
}
const tsFiles = (dir: string): string[] => readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f));

/** Builds `path` with `make` unless a marker with the same stamp says it is there (interrupted builds are redone). */
async function cached(path: string, stamp: string, make: (tmp: string) => Promise<void>, log: (m: string) => void): Promise<string> {
  const marker = `${path}.stamp`;
  if (existsSync(marker) && readFileSync(marker, 'utf8') === stamp && existsSync(path)) return path;
  log(`writing ${basename(path)}...`);
  rmSync(path, { recursive: true, force: true });
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  await make(tmp);
  renameSync(tmp, path);
  writeFileSync(marker, stamp);
  return path;
}

/** Our export of the checkpoint in a format, through the product's exportOnnx. */
async function oursSpec(checkpoint: string, f: FormatPair, log: (m: string) => void): Promise<string> {
  const options = f.export;
  // A change to what shapes an export (the graph builders, quantization, the ONNX layer) re-exports.
  const shaping = ['export', 'quantize', 'graphs', 'decoder', 'decode-graph', 'rope'].map((m) => join(REPO, 'src/models', `${m}.ts`));
  const stamp = JSON.stringify({ options, sources: sourcesHash([...shaping, ...tsFiles(join(REPO, 'src/onnx'))]) });
  return cached(join(FIXTURE_ROOT, 'llama-peer', `${basename(checkpoint)}-${f.ours}`), stamp, async (tmp) => {
    await exportOnnx(checkpoint, tmp, options);
  }, log);
}

async function ggufFile(checkpoint: string, f: FormatPair, log: (m: string) => void): Promise<string> {
  const stamp = sourcesHash(['format', 'quants', 'from-checkpoint'].map((m) => join(__dirname, 'gguf', `${m}.ts`)));
  return cached(join(FIXTURE_ROOT, 'llama-peer', `${basename(checkpoint)}-${f.gguf}.gguf`), stamp, (tmp) => checkpointToGguf(checkpoint, tmp, f.gguf), log);
}

/** A follower prompt whose rendering is as long as possible without passing `target` tokens. */
async function followerPrompt(onnxDir: string, target: number): Promise<{ parts: PromptParts; ids: number[] }> {
  const { env, AutoTokenizer } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = dirname(onnxDir);
  const tokenizer = (await AutoTokenizer.from_pretrained(basename(onnxDir))) as any;
  const words = Array.from({ length: Math.ceil(target / 20) }, (_, i) => SENTENCES[i % SENTENCES.length]).join(' ').split(' ');
  const build = (n: number) => {
    const parts: PromptParts = { preset: 'prose', instruction: '', context: '', followerInstruction: DEFAULT_FOLLOWER_INSTRUCTION, refined: words.slice(0, n).join(' ') };
    const rendered = renderPrompt(tokenizer, promptMessages(parts));
    return { parts, ids: tokenizer.encode(rendered.text, { add_special_tokens: rendered.addSpecialTokens }) as number[] };
  };
  let lo = 1;
  let hi = words.length;
  if (build(hi).ids.length <= target) throw new Error(`the bench text is too short for a ${target}-token prompt`);
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (build(mid).ids.length <= target) lo = mid;
    else hi = mid;
  }
  return build(lo);
}

interface Sample { result: DecodeResult; load: number }

/**
 * One child's result; null when it ran past `timeoutS` (a contended machine can stall spinning thread
 * pools). Ours runs with the refiner process's Node flags and environment, as the product runs it;
 * llama.cpp with plain Node, as its users run it.
 */
function runChild(script: string, job: DecodeJob, timeoutS: number): DecodeResult | null {
  const runtime = job.engine === 'ours' ? REFINER_PROCESS_RUNTIME : { execArgv: [], env: {} };
  const out = spawnSync(process.execPath, [...runtime.execArgv, script, JSON.stringify(job)], {
    cwd: REPO, encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, ...runtime.env, SLHF_DRAFT_TOKENS: '0' }, timeout: timeoutS * 1000, killSignal: 'SIGKILL',
  });
  if (out.signal === 'SIGKILL') return null;
  if (out.status !== 0) throw new Error(`${job.engine} child failed (${out.status}): ${out.stderr.slice(-2000)}`);
  return JSON.parse(out.stdout.trim().split('\n').pop()!) as DecodeResult;
}

const range = (values: number[], digits = 1): string => `${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)}`;

function figures(samples: Sample[], promptTokens: number) {
  if (samples.length === 0) return null;
  const runs = samples.flatMap((s) => s.result.runs);
  const prefill = runs.map((r) => promptTokens / (r.ttftMs / 1000));
  const decode = runs.map((r) => (r.tokens - 1) / (r.decodeMs / 1000));
  const decodeCpuMsPerToken = runs.map((r) => r.cpuMs / r.tokens);
  return { prefill, decode, decodeCpuMsPerToken, rss: Math.max(...samples.map((s) => s.result.peakRssMb)), tokens: Math.min(...runs.map((r) => r.tokens)) };
}

function sameTokens(a: number[], b: number[]): string {
  const n = Math.min(a.length, b.length);
  const differ = a.slice(0, n).findIndex((t, i) => t !== b[i]);
  return differ === -1 ? `greedy tokens identical (${n})` : `greedy tokens identical for the first ${differ} of ${n}`;
}

export async function run(context: BenchContext): Promise<BenchRow[]> {
  if (!withHalfBillionShape()) {
    context.log('llama.cpp peer: skipped (it runs on the Qwen2.5-0.5B shape only; SLHF_BENCH_05B=0)');
    return [];
  }
  const threadList = (process.env.SLHF_LLAMA_THREADS ?? '1,2').split(',').map(Number);
  const rounds = Number(process.env.SLHF_LLAMA_ROUNDS ?? 2);
  const runs = Number(process.env.SLHF_LLAMA_RUNS ?? 2);
  const formatNames = (process.env.SLHF_LLAMA_FORMATS ?? 'fp32,int8,int4').split(',');
  const formats = FORMATS.filter((f) => formatNames.includes(f.ours));
  const timeoutS = Number(process.env.SLHF_LLAMA_TIMEOUT_S ?? 420);
  const f = QWEN_05B_FIXTURE;
  const { checkpoint, onnx } = await ensureFixture(f, context.log);
  const prompts = [{ label: '', ...(await followerPrompt(onnx, 128)) }];
  const longFormats = (process.env.SLHF_LLAMA_LONG ?? 'fp32,int8,int4').split(',');
  if (formats.some((fmt) => longFormats.includes(fmt.ours))) prompts.push({ label: ', 1k context', ...(await followerPrompt(onnx, 1024)) });
  const files = new Map<FormatPair, { spec: string; gguf: string }>();
  for (const fmt of formats) files.set(fmt, { spec: await oursSpec(checkpoint, fmt, context.log), gguf: await ggufFile(checkpoint, fmt, context.log) });

  // Long prompts only at the first thread count: decode at 1k context is what they add.
  const cases = formats.flatMap((fmt) => threadList.flatMap((threads) => prompts
    .filter((p) => p.label === '' || (threads === threadList[0] && longFormats.includes(fmt.ours)))
    .map((p) => ({ fmt, threads, prompt: p, ours: [] as Sample[], llama: [] as Sample[], timedOut: [] as string[] }))));
  // Both engines' children run bundled under plain node, as the refiner worker runs in the product.
  const child = await bundledScript(join(__dirname, 'gguf', 'decode-child.ts'), ['node-llama-cpp']);
  for (let round = 0; round < rounds; round++) {
    for (const c of cases) {
      const common = { threads: c.threads, runs, newTokens: NEW_TOKENS, promptIds: c.prompt.ids };
      const { spec, gguf } = files.get(c.fmt)!;
      const sides: [Sample[], () => DecodeResult | null][] = [
        [c.ours, () => runChild(child, { ...common, engine: 'ours', dir: spec, parts: c.prompt.parts }, timeoutS)],
        [c.llama, () => runChild(child, { ...common, engine: 'llama.cpp', gguf, contextSize: c.prompt.ids.length + NEW_TOKENS + 16 }, timeoutS)],
      ];
      // Alternate which engine goes first, so neither always follows the other's cache and page-cache state.
      if (round % 2 === 1) sides.reverse();
      for (const [into, go] of sides) {
        const load = loadavg()[0];
        context.log(`round ${round + 1}/${rounds}: ${into === c.ours ? 'ours' : 'llama.cpp'} ${c.fmt.ours}/${c.fmt.gguf}, ${c.threads} thread(s), ${c.prompt.ids.length}-token prompt (load ${load.toFixed(2)})`);
        const result = go();
        if (result) {
          into.push({ result, load });
          const f = figures([{ result, load }], c.prompt.ids.length)!;
          context.log(`  prefill ${median(f.prefill).toFixed(1)} tokens/s, decode ${median(f.decode).toFixed(2)} tokens/s, peak RSS ${f.rss.toFixed(0)} MB, load ${(result.loadMs / 1000).toFixed(0)} s`);
        }
        else c.timedOut.push(`${into === c.ours ? 'ours' : 'llama.cpp'} (round ${round + 1}, load ${load.toFixed(1)})`);
      }
    }
  }

  const rows: BenchRow[] = [];
  for (const c of cases) {
    const n = c.prompt.ids.length;
    const o = figures(c.ours, n);
    const p = figures(c.llama, n);
    const name = `llama.cpp peer, Qwen2.5-0.5B shape, ${c.fmt.ours}/${c.fmt.gguf}, ${c.threads} thread${c.threads > 1 ? 's' : ''}${c.prompt.label}`;
    const stalled = c.timedOut.length ? `; did not finish within ${timeoutS} s: ${c.timedOut.join(', ')}` : '';
    if (!o || !p) {
      rows.push({ name: `${name}: decode`, ours: o ? median(o.decode) : 0, peer: p ? median(p.decode) : null, unit: 'tokens/s', higherIsBetter: true, note: `no figure${stalled}` });
      continue;
    }
    const loads = [...c.ours, ...c.llama].map((s) => s.load);
    const note = `ours: exportOnnx ${JSON.stringify(c.fmt.export)}; ${n}-token prompt, ${NEW_TOKENS} greedy tokens (ours made at least ${o.tokens}); ${c.ours.length} rounds x ${runs} runs per engine, interleaved, ` +
      `load average ${range(loads, 2)}; ${sameTokens(c.ours[0].result.tokens, c.llama[0].result.tokens)}; ` +
      `ranges ours / llama.cpp: prefill ${range(o.prefill)} / ${range(p.prefill)} tokens/s, decode ${range(o.decode)} / ${range(p.decode)} tokens/s, ` +
      `CPU ms per generated token (whole run) ${median(o.decodeCpuMsPerToken).toFixed(1)} / ${median(p.decodeCpuMsPerToken).toFixed(1)}${stalled}`;
    if (c.prompt.label === '') rows.push({ name: `${name}: prefill`, ours: median(o.prefill), peer: median(p.prefill), unit: 'tokens/s', higherIsBetter: true, note });
    rows.push({ name: `${name}: decode`, ours: median(o.decode), peer: median(p.decode), unit: 'tokens/s', higherIsBetter: true, ...(c.prompt.label ? { note } : {}) });
    if (c.prompt.label === '') rows.push({ name: `${name}: peak RSS`, ours: o.rss, peer: p.rss, unit: 'MB', note: 'VmHWM of each engine\'s own process (loading included)' });
  }
  return rows;
}
