// `slhf score` and `slhf export-onnx` on fixtures of every architecture, run in-process through the
// CLI dispatcher; scores are checked against the float64 reference on the fixture's own weights.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../src/cli';
import { makeTinyModel } from '../../../src/models/tiny-models/tiny-model';
import { savePeftAdapter } from '../../../src/models/peft';
import { refTokenLogProbs } from '../../reference/decoder-ref';
import { busyAdapter, maxAbsDiff, referenceFromFolder, refLora } from './fixtures';

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'slhf-cli-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), stdin: async () => '' });
  return { code, stdout, stderr };
}

const shape = { layers: 2, hidden: 32, heads: 4, kvHeads: 2, intermediate: 64 };

for (const arch of ['llama', 'qwen2', 'mistral'] as const) {
  test(`slhf score --ids and slhf export-onnx work on a ${arch} fixture`, async () => {
    const dir = join(root, arch);
    await makeTinyModel({ arch, tokenizer: 'bytes', out: dir, seed: 5, ...shape });
    const ids = [40, 72, 101, 108, 108, 111, 33, 10];
    const res = await cli('score', '--model', dir, '--ids', ids.join(','), '--prompt-len', '3', '--json');
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout);
    assert.deepEqual(out.tokens, ids.slice(3));
    const { raw, ref } = await referenceFromFolder(dir);
    assert.ok(maxAbsDiff(out.logprobs, refTokenLogProbs(raw, ref, ids, 3)) < 1e-4);
    assert.ok(Math.abs(out.sum - out.logprobs.reduce((a: number, b: number) => a + b, 0)) < 1e-9);

    const exported = await cli('export-onnx', '--model', dir, '--out', join(root, `${arch}-onnx`));
    assert.equal(exported.code, 0, exported.stderr);
    for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx', 'onnx/model.onnx_data']) {
      assert.ok(existsSync(join(root, `${arch}-onnx`, f)), f);
    }
    const config = JSON.parse(readFileSync(join(root, `${arch}-onnx`, 'config.json'), 'utf8'));
    assert.equal(config.model_type, arch);
    assert.equal(config['transformers.js_config'].use_external_data_format, true);
  });
}

test('slhf score --prompt/--completion scores exactly the completion tokens; --lora applies a PEFT adapter', async () => {
  const dir = join(root, 'qwen-lora');
  const model = await makeTinyModel({ arch: 'qwen2', tokenizer: 'bytes', out: dir, seed: 6, ...shape });
  const plain = await cli('score', '--model', dir, '--prompt', 'Fix: ', '--completion', 'teh cat', '--json');
  assert.equal(plain.code, 0, plain.stderr);
  const { Tokenizer } = await import('@huggingface/tokenizers');
  const tok = new Tokenizer(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')), JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')));
  const promptIds = tok.encode('Fix: ').ids;
  const completionIds = tok.encode('teh cat', { add_special_tokens: false }).ids;
  const scored = JSON.parse(plain.stdout);
  assert.deepEqual(scored.tokens, completionIds);
  const { raw, ref } = await referenceFromFolder(dir);
  const ids = [...promptIds, ...completionIds];
  assert.ok(maxAbsDiff(scored.logprobs, refTokenLogProbs(raw, ref, ids, promptIds.length)) < 1e-4);

  const adapter = busyAdapter(model.config, { rank: 2, alpha: 4, dropout: 0, targets: ['q', 'v', 'down'] }, 1, 0.5);
  await savePeftAdapter(join(root, 'adapter'), adapter);
  const withLora = await cli('score', '--model', dir, '--ids', ids.join(','), '--prompt-len', String(promptIds.length), '--lora', join(root, 'adapter'), '--json');
  assert.equal(withLora.code, 0, withLora.stderr);
  const expected = refTokenLogProbs(raw, ref, ids, promptIds.length, { lora: refLora(adapter) });
  const got = JSON.parse(withLora.stdout).logprobs;
  assert.ok(maxAbsDiff(got, expected) < 1e-4);
  assert.ok(maxAbsDiff(got, scored.logprobs) > 1e-3, 'the adapter changes the scores');
});

test('slhf score and export-onnx refuse bad input with a clear message', async () => {
  const dir = join(root, 'llama');
  const both = await cli('score', '--model', dir, '--ids', '1,2', '--prompt', 'x', '--completion', 'y');
  assert.equal(both.code, 2);
  assert.match(both.stderr, /either --prompt and --completion, or --ids and --prompt-len/);
  const noLen = await cli('score', '--model', dir, '--ids', '1,2,3');
  assert.match(noLen.stderr, /--prompt-len is required/);
  const badIds = await cli('score', '--model', dir, '--ids', '1,x', '--prompt-len', '1');
  assert.match(badIds.stderr, /comma-separated token ids/);
  const outOfVocab = await cli('score', '--model', dir, '--ids', '1,999999', '--prompt-len', '1');
  assert.equal(outOfVocab.code, 1);
  assert.match(outOfVocab.stderr, /token id 999999 is outside the vocabulary/);
  const lenTooBig = await cli('score', '--model', dir, '--ids', '1,2', '--prompt-len', '2');
  assert.match(lenTooBig.stderr, /--prompt-len must be an integer >= 1 and <= 1/);
  const missing = await cli('score', '--model', join(root, 'nope'), '--ids', '1,2', '--prompt-len', '1');
  assert.match(missing.stderr, /No such model folder/);
  const badLora = await cli('export-onnx', '--model', dir, '--out', join(root, 'x'), '--lora', join(root, 'llama'));
  assert.equal(badLora.code, 1);
  assert.match(badLora.stderr, /adapter_config\.json/);
});
