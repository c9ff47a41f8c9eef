// One SLHF training step (probe forward, forward+backward of the surrogate loss, clipping, AdamW) on
// a Qwen2-shaped fixture, ours (src/training on ORT CPU) against the same LoRA step in PyTorch CPU
// (bench/peers/training_step.py), same weights, adapter, coefficients and threads.
// the Qwen2.5-0.5B shape runs too unless SLHF_BENCH_05B=0 (slow: minutes, about 8 GB).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdamW, clipGradNorm } from '../src/onnx';
import { openCheckpoint } from '../src/models/checkpoint';
import { loadDecoderWeights } from '../src/models/export';
import { makeTinyModel, QWEN25_05B_SHAPE, type TinyModelShape } from '../src/models/tiny-models/tiny-model';
import { initLoraAdapter, type LoraConfig, LORA_TARGETS } from '../src/models/lora';
import { savePeftAdapter } from '../src/models/peft';
import { seededRandom } from '../src/base/seeded-random';
import type { ScoreRow } from '../src/models/score';
import { Policy } from '../src/training/policy';
import { termCoefficients } from '../src/training/objective';
import { adapterParams } from '../src/training/trainer';
import { DEFAULT_TRAIN_SETTINGS } from '../src/training/settings';
import { type BenchContext, type BenchRow, PYTHON, OPENBLAS_HINT, peerEnv, timeMs, torchPeer, withHalfBillionShape } from './framework';

interface Case { name: string; shape: TinyModelShape; tokenizer: 'bytes' | 'qwen3'; batch: number; prompt: number; completion: number; iterations?: number }

const CASES: Case[] = [
  { name: 'small', shape: { layers: 2, hidden: 256, heads: 4, kvHeads: 2, intermediate: 688 }, tokenizer: 'bytes', batch: 4, prompt: 64, completion: 64 },
  ...(withHalfBillionShape() ? [{ name: 'Qwen2.5-0.5B shape', shape: QWEN25_05B_SHAPE, tokenizer: 'qwen3' as const, batch: 1, prompt: 64, completion: 64, iterations: 2 }] : []),
];

const lora: LoraConfig = { rank: 8, alpha: 16, dropout: 0, targets: [...LORA_TARGETS] };
const norm = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, x) => s + x * x, 0));

async function runCase(c: Case, context: BenchContext): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-train-'));
  try {
    const { config } = await makeTinyModel({ arch: 'qwen2', tokenizer: c.tokenizer, out: join(dir, 'model'), seed: 1, ...c.shape });
    const ckpt = await openCheckpoint(join(dir, 'model'), { requireTokenizer: false });
    const policy = await Policy.create(config, await loadDecoderWeights(ckpt), { lora, intraOpThreads: context.threads });
    await ckpt.close();
    const rand = seededRandom(5);
    const adapter = initLoraAdapter(config, lora, 2);
    for (const p of adapter.pairs) for (let i = 0; i < p.b.length; i++) p.b[i] = (rand() - 0.5) * 0.02;
    await savePeftAdapter(join(dir, 'adapter'), adapter);
    const width = c.prompt + c.completion;
    const rows: ScoreRow[] = Array.from({ length: c.batch }, () => ({ ids: Array.from({ length: width }, () => Math.floor(rand() * 256)), from: c.prompt }));
    const s = DEFAULT_TRAIN_SETTINGS;
    const coefsOf = (current: number[][]) => current.map((l, i) => termCoefficients({
      role: 'follower', score: i % 2, logprobs: l, reference: l.map((x) => x - 0.01), behaviour: null,
    }, s, 1 / rows.length).coef);
    const coefs = coefsOf(await policy.logprobs(rows, policy.adapterFeeds(adapter)));
    const first = await policy.gradients(rows, coefs, policy.adapterFeeds(adapter));

    const params = adapterParams(adapter);
    const optimizer = new AdamW(params, { lr: 1e-5, eps: s.adamEps, weightDecay: 0 });
    const iterations = c.iterations ?? context.iterations;
    const step = async () => {
      const feeds = policy.adapterFeeds(adapter);
      const cs = coefsOf(await policy.logprobs(rows, feeds));
      const { grads } = await policy.gradients(rows, cs, feeds);
      const g = new Map([...grads].map(([k, v]) => [k, v as Float32Array]));
      clipGradNorm(g, s.maxGradNorm);
      optimizer.step(g);
    };
    const feeds = policy.adapterFeeds(adapter);
    const ourProbe = await timeMs(() => policy.logprobs(rows, feeds), iterations, 1);
    const ourFwdBwd = await timeMs(() => policy.gradients(rows, coefs, feeds), iterations, 1);
    const ourStep = await timeMs(step, iterations, 1);
    await policy.release();

    const peer = torchPeer();
    const tokens = c.batch * width;
    let note = `${c.shape.layers} layers, hidden ${c.shape.hidden}, ffn ${c.shape.intermediate}, vocab ${config.vocabSize}; batch ${c.batch} x ${width} tokens (${c.completion} trained); LoRA r 8 on all 7 projections; peer `;
    let result: { probe_ms: number; fwd_bwd_ms: number; step_ms: number; loss: number; grad_norms: Record<string, [number, number]>; blas: string } | null = null;
    if (!peer.ok) note += peer.reason;
    else {
      const padded = coefs.map((row) => [...new Array(c.prompt - 1).fill(0), ...row]);
      const manifest = join(dir, 'manifest.json');
      writeFileSync(manifest, JSON.stringify({
        model: join(dir, 'model'), adapter: join(dir, 'adapter', 'adapter_model.safetensors'), targets: lora.targets, scale: lora.alpha / lora.rank,
        ids: rows.map((r) => r.ids), coef: padded, lr: 1e-5, threads: context.threads, iterations,
      }));
      result = JSON.parse(execFileSync(PYTHON, [join(__dirname, 'peers', 'training_step.py'), manifest], { encoding: 'utf8', env: peerEnv(context.threads), maxBuffer: 1 << 26 }));
      const lossDiff = Math.abs(first.loss - result!.loss) / Math.abs(result!.loss);
      const gradDiff = Math.max(...adapter.pairs.flatMap((p) => {
        const [a, b] = result!.grad_norms[p.module];
        return [Math.abs(norm(first.grads.get(`base_model.model.${p.module}.lora_A.weight`)!) / a - 1), Math.abs(norm(first.grads.get(`base_model.model.${p.module}.lora_B.weight`)!) / b - 1)];
      }));
      note += `torch ${peer.version} with ${result!.blas} BLAS${result!.blas === 'openblas' ? '' : ` (${OPENBLAS_HINT})`}; first-step loss and LoRA gradient norms agree within ${Math.max(lossDiff, gradDiff).toExponential(1)}; ours ${(tokens / (ourStep / 1000)).toFixed(0)} tokens/s`;
    }
    return [
      { name: `training step, ${c.name} (probe + fwd/bwd + AdamW)`, ours: ourStep, peer: result?.step_ms ?? null, unit: 'ms', note },
      { name: `training fwd/bwd, ${c.name}`, ours: ourFwdBwd, peer: result?.fwd_bwd_ms ?? null, unit: 'ms' },
      { name: `training probe forward, ${c.name}`, ours: ourProbe, peer: result?.probe_ms ?? null, unit: 'ms' },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(context: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const c of CASES) {
    context.log(`training step: ${c.name}`);
    rows.push(...(await runCase(c, context)));
  }
  return rows;
}
