// export-onnx output loads in transformers.js fully offline, and its greedy generation is
// deterministic and equals greedy decoding by the float64 reference on the same fixture weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { exportOnnx } from '../../../src/models/export';
import { makeTinyModel } from '../../../src/models/tiny-models/tiny-model';
import { savePeftAdapter } from '../../../src/models/peft';
import { refLogits, type RefLora, type RefWeights } from '../../reference/decoder-ref';
import { busyAdapter, referenceFromFolder, refLora } from './fixtures';

function referenceGreedy(raw: Record<string, any>, ref: RefWeights, prompt: number[], steps: number, eos: number[], lora?: RefLora): number[] {
  const ids = [...prompt];
  const V = raw.vocab_size;
  for (let s = 0; s < steps; s++) {
    const logits = refLogits(raw, ref, ids, { lora });
    const last = logits.subarray((ids.length - 1) * V, ids.length * V);
    let best = 0;
    for (let v = 1; v < V; v++) if (last[v] > last[best]) best = v;
    ids.push(best);
    if (eos.includes(best)) break;
  }
  return ids.slice(prompt.length);
}

for (const arch of ['llama', 'qwen2', 'mistral'] as const) {
  test(`export-onnx folder loads offline in transformers.js and generates like the reference: ${arch}`, async () => {
    const root = mkdtempSync(join(tmpdir(), 'slhf-export-'));
    try {
      const src = join(root, 'src');
      await makeTinyModel({ arch, tokenizer: 'bytes', out: src, seed: 3, layers: 2, hidden: 32, heads: 4, kvHeads: 2, intermediate: 64 });
      const out = join(root, 'exported');
      const result = await exportOnnx(src, out);
      for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx', 'onnx/model.onnx_data']) {
        assert.ok(existsSync(join(out, f)) && result.files.includes(f), `${f} written`);
      }
      const { tokenizer, model } = await loadExported(out);
      try {
        const inputs = tokenizer('Refine this sentence') as any;
        const generate = async () => {
          const output = (await model.generate({ ...inputs, max_new_tokens: 10, do_sample: false })) as any;
          return Array.from(output.data as BigInt64Array, Number);
        };
        const first = await generate();
        const second = await generate();
        assert.deepEqual(second, first, 'greedy generation is deterministic');
        const prompt = Array.from(inputs.input_ids.data as BigInt64Array, Number);
        assert.deepEqual(first.slice(0, prompt.length), prompt);
        const { raw, ref, eos } = await referenceFromFolder(src);
        assert.deepEqual(first.slice(prompt.length), referenceGreedy(raw, ref, prompt, 10, eos));
      } finally {
        await model.dispose();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}

async function loadExported(out: string) {
  const { env, AutoModelForCausalLM, AutoTokenizer } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = dirname(out);
  const tokenizer = await AutoTokenizer.from_pretrained(basename(out));
  const model = await AutoModelForCausalLM.from_pretrained(basename(out), { device: 'cpu', dtype: 'fp32' });
  return { tokenizer, model };
}

test('export-onnx --lora merges the adapter: transformers.js generates like the reference with LoRA; left-padded batches match single rows', async () => {
  const root = mkdtempSync(join(tmpdir(), 'slhf-export-'));
  try {
    const src = join(root, 'src');
    const fixture = await makeTinyModel({ arch: 'qwen2', tokenizer: 'bytes', out: src, seed: 8, layers: 2, hidden: 32, heads: 4, kvHeads: 2, intermediate: 64 });
    const adapter = busyAdapter(fixture.config, { rank: 4, alpha: 8, dropout: 0, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] }, 2, 0.5);
    await savePeftAdapter(join(root, 'adapter'), adapter);
    const out = join(root, 'merged');
    await exportOnnx(src, out, { lora: join(root, 'adapter') });
    const { tokenizer, model } = await loadExported(out);
    try {
      const { raw, ref, eos } = await referenceFromFolder(src);
      const prompts = ['Make it shorter', 'Hi'];
      const alone: number[][] = [];
      for (const text of prompts) {
        const inputs = tokenizer(text) as any;
        const prompt = Array.from(inputs.input_ids.data as BigInt64Array, Number);
        const output = (await model.generate({ ...inputs, max_new_tokens: 8, do_sample: false })) as any;
        const generated = Array.from(output.data as BigInt64Array, Number).slice(prompt.length);
        assert.deepEqual(generated, referenceGreedy(raw, ref, prompt, 8, eos, refLora(adapter)));
        alone.push(generated);
      }
      tokenizer.padding_side = 'left';
      const batch = tokenizer(prompts, { padding: true }) as any;
      const width = batch.input_ids.dims[1];
      const output = (await model.generate({ ...batch, max_new_tokens: 8, do_sample: false })) as any;
      const total = output.dims[1];
      const flat = Array.from(output.data as BigInt64Array, Number);
      prompts.forEach((_, b) => {
        const row = flat.slice(b * total + width, (b + 1) * total);
        // A row that stopped early is padded after its stop token; compare up to the single-row length.
        assert.deepEqual(row.slice(0, alone[b].length), alone[b], `row ${b}`);
      });
    } finally {
      await model.dispose();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
