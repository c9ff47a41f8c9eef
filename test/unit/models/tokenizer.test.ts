// loadTokenizer: a model folder's real tokenizer, without the parsed tokenizer.json transformers.js
// would otherwise keep (44 MB for Qwen's vocabulary) for as long as the model is loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel } from '../../../src/models/tiny-models/tiny-model';
import { loadTokenizer } from '../../../src/models/tokenizer';
import { promptMessages, renderPrompt } from '../../../src/models/prompts';

test('loadTokenizer keeps no parsed tokenizer.json, and still encodes, decodes and renders the chat template', async () => {
  const root = mkdtempSync(join(tmpdir(), 'tokenizer-'));
  try {
    const { dir } = await makeTinyModel({ arch: 'qwen2', tokenizer: 'qwen3', out: join(root, 'qwen') });
    const tokenizer = await loadTokenizer(dir);
    // tokenizer.json parsed: a plain object with the vocabulary under model (the tables built from it are class instances).
    const parsedJson = (v: unknown) => v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype && 'model' in v && 'added_tokens' in v;
    assert.deepEqual(Object.entries(tokenizer).filter(([, v]) => parsedJson(v)).map(([k]) => k), []);
    const text = 'Grüße, the café opens at 9 — naïve tests pass?';
    const ids = tokenizer.encode(text, { add_special_tokens: false });
    assert.ok(ids.length > 5);
    assert.equal(tokenizer.decode(ids, { skip_special_tokens: true }), text);
    const rendered = renderPrompt(tokenizer, promptMessages({ preset: 'prose', instruction: '', context: '', followerInstruction: 'Improve it.', refined: text }));
    assert.match(rendered.text, /<\|im_start\|>assistant/);
    assert.ok(rendered.text.includes(text));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
