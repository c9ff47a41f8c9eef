// The GGUF writer (bench/gguf) makes llama.cpp run the same model as our ONNX export: for the
// built-in model and fixtures with the real Qwen and Llama 3 tokenizers, llama.cpp (node-llama-cpp's
// prebuilt binary) tokenizes text as our tokenizer does, its next-token log-probs after a prompt agree
// with our float32 export's, and greedy decoding gives the same tokens. The q8_0 and q4_0 encoders
// are checked against their definition, and their files against the f32 one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { exportOnnx } from '../../../src/models/export';
import { makeTinyModel } from '../../../src/models/tiny-models/tiny-model';
import { f16BitsToF32 } from '../../../src/models/half';
import { seededRandom } from '../../../src/base/seeded-random';
import { checkpointToGguf, interleaveRotaryRows, type GgufFileType } from '../../../bench/gguf/from-checkpoint';
import { loadLlamaCpp } from '../../../bench/gguf/llama-cpp';
import { encodeTensor } from '../../../bench/gguf/quants';

const DEFAULT_MODEL = join(__dirname, '../../../assets/default-model');
const TEXT = 'teh cat sat on the the mat, and 12345 dogs barked at it!';
const GREEDY_TOKENS = 12;

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'slhf-gguf-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

interface Ours {
  tokenize: (text: string) => number[];
  /** Next-token log-probs after the prompt, and the greedy tokens (up to the end token). */
  run: (prompt: number[]) => Promise<{ logProbs: Float64Array; tokens: number[] }>;
  dispose: () => Promise<void>;
}

/** Our side: the checkpoint's float32 export, run by transformers.js as the refiner runs it. */
async function loadOurs(checkpoint: string): Promise<Ours> {
  const dir = join(root, `onnx-${basename(checkpoint)}`);
  await exportOnnx(checkpoint, dir);
  const { env, AutoModelForCausalLM, AutoTokenizer, LogitsProcessor, Tensor } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = dirname(dir);
  const tokenizer = (await AutoTokenizer.from_pretrained(basename(dir))) as any;
  const model = await AutoModelForCausalLM.from_pretrained(basename(dir), { device: 'cpu', dtype: 'fp32' });
  const run = async (prompt: number[]) => {
    let first: Float32Array | null = null;
    class Capture extends LogitsProcessor {
      override _call(_ids: bigint[][], logits: any): any {
        first ??= Float32Array.from(logits.data as Float32Array);
        return logits;
      }
    }
    const out = (await model.generate({
      input_ids: new Tensor('int64', BigInt64Array.from(prompt, BigInt), [1, prompt.length]),
      attention_mask: new Tensor('int64', new BigInt64Array(prompt.length).fill(1n), [1, prompt.length]),
      // No min_new_tokens: transformers.js would mask the end token before our processor sees the logits.
      max_new_tokens: GREEDY_TOKENS, do_sample: false, logits_processor: [new Capture()] as any,
    })) as any;
    return { logProbs: logSoftmax(first!), tokens: Array.from(out.data as BigInt64Array, Number).slice(prompt.length) };
  };
  return { tokenize: (t) => tokenizer.encode(t, { add_special_tokens: false }), run, dispose: async () => { await model.dispose(); } };
}

function logSoftmax(x: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of x) max = Math.max(max, v);
  let sum = 0;
  for (const v of x) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(x, (v) => v - lse);
}

/**
 * Max |difference| of log-probs over the tokens both give a probability above float32's underflow
 * (llama.cpp reports probabilities, not logits); a token only one of them gives one is a mismatch.
 */
function maxLogProbDiff(a: Float64Array, b: Float64Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] > -80 && b[i] > -80) d = Math.max(d, Math.abs(a[i] - b[i]));
    else if (Math.max(a[i], b[i]) > -70) return Infinity;
  }
  return d;
}

async function sameModel(checkpoint: string, textIds: (tokenize: (t: string) => number[]) => number[]): Promise<void> {
  const gguf = join(root, `${basename(checkpoint)}-f32.gguf`);
  await checkpointToGguf(checkpoint, gguf, 'f32');
  const llama = await loadLlamaCpp(gguf, { threads: 1, contextSize: 128, exact: true });
  const ours = await loadOurs(checkpoint);
  try {
    // The prompt comes from our tokenizer; llama.cpp's own tokenization of the text must match it.
    const prompt = textIds(ours.tokenize);
    assert.deepEqual(llama.tokenize(TEXT), ours.tokenize(TEXT), 'llama.cpp tokenizes the text as our tokenizer does');
    const o = await ours.run(prompt);
    const theirs = await llama.nextLogProbs(prompt);
    const diff = maxLogProbDiff(o.logProbs, theirs);
    assert.ok(diff < 1e-4, `next-token log-probs differ by ${diff}`);
    // Ours stops at the end token, llama.cpp's loop does not: the same tokens up to there.
    assert.ok(o.tokens.length >= 2, `${o.tokens.length} greedy tokens`);
    assert.deepEqual((await llama.greedy(prompt, GREEDY_TOKENS)).tokens.slice(0, o.tokens.length), o.tokens, 'greedy tokens');
  } finally {
    await llama.dispose();
    await ours.dispose();
  }
}

test('the built-in model (byte-level BPE, trained weights) runs in llama.cpp as in our export', async () => {
  // Its chat format, so that it answers (a bare text makes it end at once).
  await sameModel(DEFAULT_MODEL, (tokenize) => tokenize(`<|im_start|>user\n${TEXT}<|im_end|>\n<|im_start|>assistant\n`));
});

test('a qwen2 fixture with the real Qwen tokenizer (151,936 embeddings, padding rows included) runs in llama.cpp as in our export', async () => {
  const dir = join(root, 'qwen');
  await makeTinyModel({ arch: 'qwen2', tokenizer: 'qwen3', out: dir, seed: 7, layers: 2, hidden: 64, heads: 4, kvHeads: 2, intermediate: 128 });
  await sameModel(dir, (tokenize) => tokenize(TEXT));
});

test('a llama fixture (Llama 3 tokenizer, llama3 RoPE scaling, rotary rows reordered) runs in llama.cpp as in our export', async () => {
  const dir = join(root, 'llama');
  await makeTinyModel({ arch: 'llama', tokenizer: 'llama3', out: dir, seed: 8, layers: 2, hidden: 64, heads: 4, kvHeads: 2, intermediate: 128 });
  // Positions past Llama 3's original context would show a wrong RoPE rescaling; 40 tokens of text
  // exercise the low-frequency factors enough for a wrong table to move the logits.
  await sameModel(dir, (tokenize) => tokenize(TEXT.repeat(3)));
});

test('interleaving rotary rows moves row (head, half, i) to (head, 2i + half)', () => {
  // 2 heads of dim 4, 1 column: rows h0: a0 a1 b0 b1 -> a0 b0 a1 b1.
  const x = Float32Array.from([0, 1, 10, 11, 100, 101, 110, 111]);
  assert.deepEqual([...interleaveRotaryRows(x, 2, 4)], [0, 10, 1, 11, 100, 110, 101, 111]);
});

/** Decodes q8_0 / q4_0 blocks by their definition (the reference the encoders are checked against). */
function decode(bytes: Uint8Array, type: 'Q8_0' | 'Q4_0', n: number): { values: Float32Array; scales: number[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = type === 'Q8_0' ? 34 : 18;
  const values = new Float32Array(n);
  const scales: number[] = [];
  for (let b = 0; b < n / 32; b++) {
    const d = f16BitsToF32(view.getUint16(b * size, true));
    scales.push(d);
    for (let j = 0; j < 32; j++) {
      if (type === 'Q8_0') values[b * 32 + j] = d * view.getInt8(b * size + 2 + j);
      else {
        const byte = bytes[b * size + 2 + (j % 16)];
        values[b * 32 + j] = d * ((j < 16 ? byte & 15 : byte >> 4) - 8);
      }
    }
  }
  return { values, scales };
}

test('q8_0 and q4_0 encode every value within half a step of its block scale (q4_0 clips the far end), and the extreme exactly', () => {
  const rand = seededRandom(1);
  const x = Float32Array.from({ length: 32 * 64 }, () => (rand() - 0.5) * 4);
  x.fill(0, 64, 96); // an all-zero block stays zero
  for (const type of ['Q8_0', 'Q4_0'] as const) {
    const { values, scales } = decode(encodeTensor(x, type), type, x.length);
    for (let i = 0; i < x.length; i++) {
      const d = Math.abs(scales[Math.floor(i / 32)]);
      // q4_0 has codes for -8..7 steps, the extreme's sign at -8: values beyond 7 steps on the other side clip to 7.
      const clipped = type === 'Q4_0' ? Math.abs(x[i]) - 7 * d : 0;
      // Plus the f16 rounding of the scale times the largest code (127 or 8).
      const bound = Math.max(d / 2, clipped) + d * 2 ** -11 * (type === 'Q8_0' ? 127 : 8) + 1e-7;
      assert.ok(Math.abs(values[i] - x[i]) <= bound, `${type} value ${i}: ${values[i]} vs ${x[i]}`);
    }
    for (let b = 0; b < x.length / 32; b++) {
      const block = x.subarray(b * 32, b * 32 + 32);
      const extreme = block.reduce((best, v, j) => (Math.abs(v) > Math.abs(block[best]) ? j : best), 0);
      assert.ok(Math.abs(values[b * 32 + extreme] - block[extreme]) <= Math.abs(block[extreme]) * 2 ** -11 + 1e-7, `${type} block ${b}'s extreme`);
    }
    assert.ok(values.subarray(64, 96).every((v) => v === 0), `${type} zero block`);
  }
});

/** E|Δ log p| under the reference distribution: the drift on the tokens that matter. */
function expectedLogProbDiff(reference: Float64Array, other: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < reference.length; i++) if (reference[i] > -80) sum += Math.exp(reference[i]) * Math.abs(other[i] - reference[i]);
  return sum;
}

test('f16, q8_0 and q4_0 files of the built-in model load in llama.cpp and stay near the f32 file', async () => {
  const text = 'the quick brown fox jumps over the lazy dog';
  const drift: Record<string, number> = {};
  let reference: Float64Array | null = null;
  for (const type of ['f32', 'f16', 'q8_0', 'q4_0'] as GgufFileType[]) {
    const path = join(root, `default-${type}.gguf`);
    await checkpointToGguf(DEFAULT_MODEL, path, type);
    const llama = await loadLlamaCpp(path, { threads: 1, contextSize: 128, exact: true });
    try {
      const lp = await llama.nextLogProbs(llama.tokenize(text));
      reference ??= lp;
      drift[type] = expectedLogProbDiff(reference, lp);
    } finally {
      await llama.dispose();
    }
  }
  // Coarser formats drift more, and none beyond what a working quantizer gives on this small model.
  assert.ok(drift.f16 < drift.q8_0 && drift.q8_0 < drift.q4_0, JSON.stringify(drift));
  assert.ok(drift.q4_0 < 1.5, JSON.stringify(drift));
  assert.ok(readFileSync(join(root, 'default-q4_0.gguf')).length < readFileSync(join(root, 'default-q8_0.gguf')).length);
});
