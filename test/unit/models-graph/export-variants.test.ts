// exportOnnx variants through transformers.js: the contrib graph and float16 exports load offline and
// generate greedily exactly what the plain float32 export generates, alone and in a left-padded batch;
// the CLI flags reach exportOnnx; impossible combinations are refused with clear messages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { main } from '../../../src/cli';
import { CPU_DEFAULT_FORMAT, exportOnnx, parameterCount, QUANTIZE_BY_DEFAULT_FROM_PARAMS, resolveExportOptions, type ExportOptions } from '../../../src/models/export';
import { parseDecoderConfig } from '../../../src/models/config';
import { makeTinyModel } from '../../../src/models/tiny-models/tiny-model';

let root: string;
let src: string;
before(async () => {
  root = mkdtempSync(join(tmpdir(), 'slhf-export-variants-'));
  src = join(root, 'src');
  await makeTinyModel({ arch: 'qwen2', tokenizer: 'bytes', out: src, seed: 4, layers: 2, hidden: 32, heads: 4, kvHeads: 2, intermediate: 64 });
});
after(() => rmSync(root, { recursive: true, force: true }));

/** Greedy continuations of one prompt alone and of two prompts as a left-padded batch. */
async function greedy(dir: string, dtype: 'fp32' | 'fp16' | 'q8' | 'q4'): Promise<{ alone: number[]; batch: number[][] }> {
  const { env, AutoModelForCausalLM, AutoTokenizer } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = dirname(dir);
  const tokenizer = (await AutoTokenizer.from_pretrained(basename(dir))) as any;
  const model = await AutoModelForCausalLM.from_pretrained(basename(dir), { device: 'cpu', dtype });
  try {
    const ids = (out: any) => Array.from(out.data as BigInt64Array, Number);
    const one = tokenizer('Refine this sentence');
    const alone = ids(await model.generate({ ...one, max_new_tokens: 12, do_sample: false, min_new_tokens: 12 }));
    tokenizer.padding_side = 'left';
    const two = tokenizer(['Hi', 'Make it much shorter'], { padding: true });
    const out = (await model.generate({ ...two, max_new_tokens: 8, do_sample: false, min_new_tokens: 8 })) as any;
    const width = out.dims[1];
    const flat = ids(out);
    return { alone, batch: [flat.slice(0, width), flat.slice(width)] };
  } finally {
    await model.dispose();
  }
}

async function exported(name: string, options: ExportOptions): Promise<string> {
  const out = join(root, name);
  await exportOnnx(src, out, options);
  return out;
}

test('contrib and float16 exports generate exactly what the plain float32 export generates in transformers.js', async () => {
  const expected = await greedy(await exported('plain', {}), 'fp32');
  const contrib = await exported('contrib', { graph: 'contrib' });
  assert.deepEqual(await greedy(contrib, 'fp32'), expected, 'contrib float32');
  for (const graph of ['plain', 'contrib'] as const) {
    const dir = await exported(`${graph}-fp16`, { graph, dtype: 'float16' });
    assert.ok(existsSync(join(dir, 'onnx/model_fp16.onnx')) && existsSync(join(dir, 'onnx/model_fp16.onnx_data')));
    assert.ok(!existsSync(join(dir, 'onnx/model.onnx')));
    assert.equal(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))['transformers.js_config'].dtype, 'fp16');
    // float16 rounding could in principle flip a near-tie; on this fixture it flips none.
    assert.deepEqual(await greedy(dir, 'fp16'), expected, `${graph} float16`);
  }
});

test('quantized exports (symmetric, contrib graph, the lookup reading the quantized table) load offline in transformers.js and generate', async () => {
  const plain = await exported('plain-for-q', { graph: 'plain', quantize: null });
  const expected = await greedy(plain, 'fp32');
  const floatBytes = statSync(join(plain, 'onnx/model.onnx_data')).size;
  for (const [bits, dtype, file] of [[8, 'q8', 'model_quantized'], [4, 'q4', 'model_q4']] as const) {
    const dir = await exported(`contrib-q${bits}`, { graph: 'contrib', quantize: { bits } });
    const graph = readFileSync(join(dir, `onnx/${file}.onnx`));
    assert.ok(graph.includes('GatherBlockQuantized') && graph.includes('MatMulNBits') && graph.includes('GroupQueryAttention'));
    assert.ok(!graph.includes('zero_points'), 'symmetric codes carry no zero points');
    // Every matrix, the embedding included, is stored once as codes: no float copy of the table.
    const bytes = statSync(join(dir, `onnx/${file}.onnx_data`)).size;
    assert.ok(bytes < floatBytes / (bits === 8 ? 3 : 5), `${bytes} bytes against ${floatBytes} in float32`);
    const got = await greedy(dir, dtype);
    assert.equal(got.alone.length, expected.alone.length);
    assert.deepEqual(got.batch.map((r) => r.length), expected.batch.map((r) => r.length));
    // int8 keeps this fixture's greedy choices; int4 is allowed to differ.
    if (bits === 8) assert.deepEqual(got, expected, 'int8');
  }
});

test('an export that names no format gets the CPU default (contrib, int8) from 50M parameters on, float32 below', () => {
  const qwen05b = parseDecoderConfig({
    model_type: 'qwen2', vocab_size: 151936, hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14,
    num_key_value_heads: 2, tie_word_embeddings: true, max_position_embeddings: 32768, rms_norm_eps: 1e-6, rope_theta: 1000000,
  });
  // Qwen2.5-0.5B's published size: 494,032,768 parameters (the tied embedding counted once).
  assert.equal(parameterCount(qwen05b), 494_032_768);
  assert.deepEqual(resolveExportOptions({}, qwen05b), CPU_DEFAULT_FORMAT);
  assert.deepEqual(resolveExportOptions({ lora: 'a' }, qwen05b), { lora: 'a', ...CPU_DEFAULT_FORMAT });
  // Any named format is taken as it is; null asks for no quantization (slhf export-onnx --quantize none).
  for (const named of [{ quantize: null }, { graph: 'plain' }, { dtype: 'float16' }, { quantize: { bits: 4 } }] as ExportOptions[]) {
    assert.deepEqual(resolveExportOptions(named, qwen05b), named);
  }
  const tiny = parseDecoderConfig(JSON.parse(readFileSync(join(src, 'config.json'), 'utf8')));
  assert.ok(parameterCount(tiny) < QUANTIZE_BY_DEFAULT_FROM_PARAMS);
  assert.deepEqual(resolveExportOptions({}, tiny), {});
});

test('export refuses combinations it cannot build, naming the way out', async () => {
  const odd = join(root, 'odd');
  await makeTinyModel({ arch: 'llama', tokenizer: 'bytes', out: odd, seed: 2, layers: 1, hidden: 24, heads: 2, kvHeads: 1, intermediate: 32 });
  await assert.rejects(exportOnnx(odd, join(root, 'odd-out'), { graph: 'contrib' }), /head_dim to be a multiple of 8, this model has 12\); export with graph 'plain'/);
  await assert.rejects(exportOnnx(src, join(root, 'q16'), { dtype: 'float16', quantize: { bits: 4 } }), /quantization applies to float32 graphs/);
  await assert.rejects(exportOnnx(src, join(root, 'bad'), { graph: 'fused' as never }), /unknown graph variant fused; use plain, contrib or auto/);
  // 'auto' falls back to the plain graph where the contrib one cannot go, and takes it where it can.
  assert.equal((await exportOnnx(odd, join(root, 'odd-auto'), { graph: 'auto' })).graph, 'plain');
  assert.equal((await exportOnnx(src, join(root, 'src-auto'), { graph: 'auto' })).graph, 'contrib');
});

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), stdin: async () => '' });
  return { code, stdout, stderr };
}

test('slhf export-onnx --graph/--dtype reach the export; bad values are usage errors', async () => {
  const out = join(root, 'cli-contrib-fp16');
  const ok = await cli('export-onnx', '--model', src, '--out', out, '--graph', 'contrib', '--dtype', 'float16');
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /contrib graph, transformers\.js dtype fp16/);
  const graph = readFileSync(join(out, 'onnx/model_fp16.onnx'));
  assert.ok(graph.includes('GroupQueryAttention') && graph.includes('com.microsoft'));
  const badGraph = await cli('export-onnx', '--model', src, '--out', join(root, 'x'), '--graph', 'fast');
  assert.equal(badGraph.code, 2);
  assert.match(badGraph.stderr, /--graph must be one of plain, contrib, auto, got "fast"/);
  const badMix = await cli('export-onnx', '--model', src, '--out', join(root, 'x'), '--dtype', 'float16', '--quantize', 'int4');
  assert.equal(badMix.code, 2);
  assert.match(badMix.stderr, /--quantize applies to float32 weights/);
});
