import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel } from '../../../src/models/tiny-models/tiny-model';
import { fixtureTokenizer } from '../../../src/models/tiny-models/tokenizers';
import { openCheckpoint } from '../../../src/models/checkpoint';
import { bf16BitsToF32, f32ToBf16Bits } from '../../../src/models/half';
import { main } from '../../../src/cli';

let root: string;
let transformers: typeof import('@huggingface/transformers');

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'slhf-fixtures-'));
  transformers = await import('@huggingface/transformers');
  transformers.env.allowRemoteModels = false;
  transformers.env.localModelPath = root;
});

after(() => rmSync(root, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { stdout: (t) => (out += t), stderr: (t) => (err += t), stdin: async () => '' });
  return { code, out, err };
}

test('each architecture has its family traits and passes the checkpoint loader', async () => {
  const expectations = {
    qwen2: { tied: true, bias: true, scaling: null },
    llama: { tied: false, bias: false, scaling: 'llama3' },
    mistral: { tied: false, bias: false, scaling: null },
  } as const;
  for (const [arch, want] of Object.entries(expectations)) {
    const { dir } = await makeTinyModel({ arch: arch as keyof typeof expectations, tokenizer: 'bytes', out: join(root, `arch-${arch}`), seed: 5, kvHeads: 1 });
    const ckpt = await openCheckpoint(dir); // checks every tensor's name and shape against config.json
    try {
      assert.equal(ckpt.config.modelType, arch);
      assert.equal(ckpt.config.tieWordEmbeddings, want.tied, arch);
      assert.equal(ckpt.weights.has('lm_head.weight'), !want.tied, arch);
      assert.equal(ckpt.weights.has('model.layers.1.self_attn.k_proj.bias'), want.bias, arch);
      assert.equal(ckpt.config.ropeScaling?.type ?? null, want.scaling, arch);
      assert.deepEqual(ckpt.weights.info('model.layers.0.self_attn.k_proj.weight').shape, [16, 64], 'one kv head of 16 dims');
      assert.equal(ckpt.config.vocabSize % 64, 0);
      // Initialization: norms near 1, linears within U(±sqrt(3/in)).
      const norm = await ckpt.weights.readFloat32('model.layers.0.input_layernorm.weight');
      assert.ok(norm.every((v) => v > 0.89 && v < 1.11));
      const down = await ckpt.weights.readFloat32('model.layers.0.mlp.down_proj.weight');
      const bound = Math.sqrt(3 / 128);
      assert.ok(down.every((v) => Math.abs(v) <= bound));
      const std = Math.sqrt(down.reduce((s, v) => s + v * v, 0) / down.length);
      assert.ok(Math.abs(std - bound / Math.sqrt(3)) < 0.01, `std ${std}`);
    } finally {
      await ckpt.close();
    }
  }
});

test('weights are deterministic from the seed, and bf16 is the f32 model rounded', async () => {
  const make = (name: string, seed: number, dtype: 'f32' | 'bf16' = 'f32') =>
    makeTinyModel({ arch: 'qwen2', tokenizer: 'bytes', out: join(root, name), seed, dtype, layers: 1 });
  const [a, b, c, h] = [await make('seed-a', 9), await make('seed-b', 9), await make('seed-c', 10), await make('seed-h', 9, 'bf16')];
  const bytes = (m: { dir: string }) => readFileSync(join(m.dir, 'model.safetensors'));
  assert.deepEqual(bytes(a), bytes(b));
  assert.notDeepEqual(bytes(a), bytes(c));
  const [full, half] = [await openCheckpoint(a.dir), await openCheckpoint(h.dir)];
  try {
    assert.equal(half.weights.info('model.embed_tokens.weight').dtype, 'BF16');
    assert.equal(JSON.parse(readFileSync(join(h.dir, 'config.json'), 'utf8')).torch_dtype, 'bfloat16');
    const x = await full.weights.readFloat32('model.layers.0.self_attn.q_proj.bias');
    const y = await half.weights.readFloat32('model.layers.0.self_attn.q_proj.bias');
    assert.deepEqual([...y], [...x].map((v) => bf16BitsToF32(f32ToBf16Bits(v))));
  } finally {
    await full.close();
    await half.close();
  }
});

test('the bytes tokenizer loads in transformers.js offline: round trip, specials, chat template', async () => {
  await makeTinyModel({ arch: 'qwen2', tokenizer: 'bytes', out: join(root, 'bytes-tok') });
  const tok = await transformers.AutoTokenizer.from_pretrained('bytes-tok');
  for (const text of ['Hello the world, testing', 'ünïcödé ✓ 日本語 🙂', '  leading and\ttabs\nnewlines  ']) {
    assert.equal(tok.decode(tok.encode(text)), text);
  }
  assert.ok(tok.encode('the thing').length < 'the thing'.length, 'merges shorten common words');
  const specials = fixtureTokenizer('bytes').tokenizerConfig;
  assert.equal(specials.eos_token, '<|im_end|>');
  const ids = tok.encode('<|im_start|>user');
  assert.equal(tok.decode([ids[0]]), '<|im_start|>');
  const chat = tok.apply_chat_template([{ role: 'user', content: 'hi' }], { tokenize: false, add_generation_prompt: true });
  assert.equal(chat, '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n');
});

test('real Qwen3 and Llama 3 tokenizers: vocab covered, chat templates render, eos includes end of turn', async () => {
  const cases = [
    { kind: 'qwen3', arch: 'qwen2', vocab: 151936, turnEnd: '<|im_end|>', marker: '<|im_start|>user\nhi<|im_end|>' },
    { kind: 'llama3', arch: 'llama', vocab: 128256, turnEnd: '<|eot_id|>', marker: '<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>' },
  ] as const;
  for (const c of cases) {
    const { dir, config, tokenizer } = await makeTinyModel({ arch: c.arch, tokenizer: c.kind, out: join(root, `tok-${c.kind}`), hidden: 16, heads: 2, kvHeads: 1, intermediate: 32, layers: 1 });
    assert.equal(config.vocabSize, c.vocab);
    assert.ok(config.vocabSize >= tokenizer.tokenCount);
    const tok = await transformers.AutoTokenizer.from_pretrained(`tok-${c.kind}`);
    const chat = tok.apply_chat_template([{ role: 'user', content: 'hi' }], { tokenize: false, add_generation_prompt: true }) as string;
    assert.ok(chat.includes(c.marker), chat);
    const turnEnd = tok.encode(c.turnEnd, { add_special_tokens: false });
    assert.equal(turnEnd.length, 1);
    const generation = JSON.parse(readFileSync(join(dir, 'generation_config.json'), 'utf8'));
    assert.ok(generation.eos_token_id.includes(turnEnd[0]));
    assert.equal(tok.decode(tok.encode('Grüße, world!', { add_special_tokens: false })), 'Grüße, world!');
  }
});

test('make-tiny-model CLI: shapes from flags, validation before writing, no silent overwrite', async () => {
  const out = join(root, 'cli-model');
  const ok = await cli(['make-tiny-model', '--arch', 'mistral', '--tokenizer', 'bytes', '--out', out, '--layers', '3', '--hidden', '48', '--heads', '6', '--kv-heads', '3', '--intermediate', '80', '--head-dim', '10', '--seed', '4']);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /mistral, 3 layers, hidden 48, heads 6\/3/);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.deepEqual([config.num_hidden_layers, config.hidden_size, config.num_attention_heads, config.num_key_value_heads, config.intermediate_size, config.head_dim], [3, 48, 6, 3, 80, 10]);

  const again = await cli(['make-tiny-model', '--arch', 'mistral', '--tokenizer', 'bytes', '--out', out]);
  assert.equal(again.code, 1);
  assert.match(again.err, /is not empty/);
  assert.equal((await cli(['make-tiny-model', '--arch', 'mistral', '--tokenizer', 'bytes', '--out', out, '--force'])).code, 0);

  const badArch = await cli(['make-tiny-model', '--arch', 'gpt2', '--tokenizer', 'bytes', '--out', join(root, 'x')]);
  assert.equal(badArch.code, 2);
  assert.match(badArch.err, /--arch must be one of llama, qwen2, mistral, got "gpt2"/);
  const badHeads = await cli(['make-tiny-model', '--arch', 'llama', '--tokenizer', 'bytes', '--out', join(root, 'y'), '--heads', '4', '--kv-heads', '3']);
  assert.equal(badHeads.code, 1);
  assert.match(badHeads.err, /multiple of num_key_value_heads/);
  assert.equal(existsSync(join(root, 'y')), false, 'nothing written for an invalid shape');
  const badNumber = await cli(['make-tiny-model', '--arch', 'llama', '--tokenizer', 'bytes', '--out', join(root, 'z'), '--layers', '0']);
  assert.equal(badNumber.code, 2);
  assert.match(badNumber.err, /--layers must be an integer >= 1/);
  const missing = await cli(['make-tiny-model', '--arch', 'llama', '--out', join(root, 'z')]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /--tokenizer is required/);
  mkdirSync(join(root, 'w'));
  writeFileSync(join(root, 'w', 'keep.txt'), 'x');
  assert.equal((await cli(['make-tiny-model', '--arch', 'llama', '--tokenizer', 'bytes', '--out', join(root, 'w')])).code, 1);
});
