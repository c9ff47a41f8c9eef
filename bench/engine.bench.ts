// Forward and forward+backward of a LoRA transformer block: our graph on ORT CPU against the same
// math in PyTorch CPU (bench/peers/engine_block.py), same shapes, weights and thread count.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../src/onnx';
import { seededRandom } from '../src/base/seeded-random';
import { type BlockConfig, blockTensorShapes, transformerBlock, loraNames } from '../test/unit/onnx/block';
import { type BenchContext, type BenchRow, PYTHON, OPENBLAS_HINT, peerEnv, timeMs, torchPeer } from './framework';

const config: BlockConfig = { batch: 1, seq: 128, hidden: 256, heads: 4, ffn: 688, rank: 8, eps: 1e-6, loraScale: 2 };
const shapeText = `seq ${config.seq}, hidden ${config.hidden}, ${config.heads} heads, ffn ${config.ffn}, LoRA r ${config.rank} on q,v`;

function randomTensors(): Record<string, Float32Array> {
  const rand = seededRandom(7);
  const out: Record<string, Float32Array> = {};
  for (const [name, shape] of Object.entries({ ...blockTensorShapes(config), cotangent: [config.batch, config.seq, config.hidden] })) {
    const n = shape.reduce((a, b) => a * b, 1);
    const scale = name.startsWith('norm') ? 0 : name === 'x' || name === 'cotangent' ? 1 : 1 / Math.sqrt(shape[0]);
    out[name] = Float32Array.from({ length: n }, () => (name.startsWith('norm') ? 1 : (2 * rand() - 1) * scale));
  }
  return out;
}

/** Base weights are initializers (frozen); x, the cotangent and the LoRA factors are fed each step. */
function buildGraph(data: Record<string, Float32Array>, withGrads: boolean): E.ModelBytes {
  const g = new E.Graph('lora_block');
  const shapes = blockTensorShapes(config);
  const fed = new Set(['x', ...loraNames]);
  const tensors: Record<string, E.Tensor> = {};
  for (const [name, shape] of Object.entries(shapes)) {
    tensors[name] = fed.has(name) ? g.input(name, 'float32', shape) : g.initializer(name, 'float32', shape, data[name]);
  }
  const out = transformerBlock((n) => tensors[n], config);
  const loss = E.reduceSum(E.mul(out, g.input('cotangent', 'float32', shapes.x)), undefined, false);
  g.output(loss, 'loss');
  if (withGrads) E.grad(loss, loraNames.map((n) => tensors[n])).forEach((t, i) => g.output(t, `grad_${loraNames[i]}`));
  return E.serialize(g);
}

interface PeerResult { forward_ms: number; fwd_bwd_ms: number; loss: number; grad_norms: Record<string, number>; blas: string }

function runPeer(data: Record<string, Float32Array>, context: BenchContext): PeerResult {
  const dir = mkdtempSync(join(tmpdir(), 'bench-block-'));
  try {
    const shapes = { ...blockTensorShapes(config), cotangent: [config.batch, config.seq, config.hidden] };
    const tensors: Record<string, { shape: number[]; file: string }> = {};
    for (const [name, shape] of Object.entries(shapes)) {
      writeFileSync(join(dir, `${name}.f32`), data[name]);
      tensors[name] = { shape, file: join(dir, `${name}.f32`) };
    }
    const manifest = join(dir, 'manifest.json');
    writeFileSync(manifest, JSON.stringify({ config, tensors, lora: loraNames, threads: context.threads, iterations: context.iterations }));
    const stdout = execFileSync(PYTHON, [join(__dirname, 'peers', 'engine_block.py'), manifest], { encoding: 'utf8', env: peerEnv(context.threads) });
    return JSON.parse(stdout) as PeerResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

export async function run(context: BenchContext): Promise<BenchRow[]> {
  const data = randomTensors();
  const options = { device: 'cpu' as const, intraOpThreads: context.threads, interOpThreads: 1 };
  const forward = await E.createSession(buildGraph(data, false), options);
  const training = await E.createSession(buildGraph(data, true), options);
  const feeds = (): Record<string, E.Feed> => Object.fromEntries(
    ['x', 'cotangent', ...loraNames].map((n) => [n, { dtype: 'float32' as const, data: data[n], dims: n === 'cotangent' ? blockTensorShapes(config).x : blockTensorShapes(config)[n] }]),
  );
  const ourForward = await timeMs(() => forward.run(feeds()), context.iterations);
  const ourTraining = await timeMs(() => training.run(feeds()), context.iterations);
  const outputs = await training.run(feeds());
  await forward.release();
  await training.release();

  const peer = torchPeer();
  let peerResult: PeerResult | undefined;
  let note = `${shapeText}; float32; peer `;
  if (!peer.ok) note += peer.reason;
  else {
    peerResult = runPeer(data, context);
    // The same weights go to both sides, so the loss and gradients must agree: a check on the math.
    const lossDiff = Math.abs((outputs.loss.data[0] as number) - peerResult.loss) / Math.abs(peerResult.loss);
    const gradDiff = Math.max(...loraNames.map((n) => Math.abs(norm(outputs[`grad_${n}`].data as Float32Array) / peerResult!.grad_norms[n] - 1)));
    note += `torch ${peer.version} with ${peerResult.blas} BLAS${peerResult.blas === 'openblas' ? '' : ` (${OPENBLAS_HINT})`}; loss and LoRA gradient norms agree within ${Math.max(lossDiff, gradDiff).toExponential(1)}`;
  }
  return [
    { name: 'LoRA block forward', ours: ourForward, peer: peerResult?.forward_ms ?? null, unit: 'ms', note },
    { name: 'LoRA block forward+backward', ours: ourTraining, peer: peerResult?.fwd_bwd_ms ?? null, unit: 'ms' },
  ];
}
