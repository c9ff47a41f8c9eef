// Streaming decode: after every token, the incremental text equals decoding the whole sequence, with
// real tokenizers (byte-level BPE of Qwen and Llama 3, and the built-in model's), across multi-byte
// characters split between tokens, leading spaces and special tokens; and each step decodes a short
// window, not the whole output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PreTrainedTokenizer } from '@huggingface/transformers';
import { defaultModelDir } from '../../../src/models/default-model';
import { fixtureTokenizer } from '../../../src/models/tiny-models/tokenizers';
import { IncrementalDecoder } from '../../../src/refiner/incremental-decode';

const TEXT = 'Café naïve — 日本語のテキスト 🙂🚀 then  double  spaces,\n\ta tab; "quotes" (parens) 1234.5 ok... émigré façade';

const tokenizers: [string, () => any][] = [
  ['qwen3', () => { const f = fixtureTokenizer('qwen3'); return new PreTrainedTokenizer(JSON.parse(f.tokenizerJson), f.tokenizerConfig); }],
  ['llama3', () => { const f = fixtureTokenizer('llama3'); return new PreTrainedTokenizer(JSON.parse(f.tokenizerJson), f.tokenizerConfig); }],
  ['built-in model', () => new PreTrainedTokenizer(JSON.parse(readFileSync(join(defaultModelDir(), 'tokenizer.json'), 'utf8')), JSON.parse(readFileSync(join(defaultModelDir(), 'tokenizer_config.json'), 'utf8')))],
];

for (const [name, make] of tokenizers) {
  test(`incremental text equals the whole decode after every token: ${name}`, () => {
    const tokenizer = make();
    const decode = (ids: number[]) => tokenizer.decode(ids, { skip_special_tokens: true }) as string;
    const ids: number[] = tokenizer.encode(TEXT, { add_special_tokens: false });
    // A special token mid-stream (skipped in the text) and the text again after it.
    const special = tokenizer.all_special_ids?.[0] ?? tokenizer.encode(tokenizer.eos_token ?? '', { add_special_tokens: false })[0];
    const stream = special === undefined ? [...ids, ...ids] : [...ids, special, ...ids];
    let decoded = 0;
    const incremental = new IncrementalDecoder((window) => {
      decoded += window.length;
      return decode(window);
    });
    for (let end = 1; end <= stream.length; end++) {
      const whole = decode(stream.slice(0, end));
      const got = incremental.push(stream, end);
      // While a character's bytes are incomplete both end in U+FFFD; the text before it must agree.
      assert.equal(got.replace(/\uFFFD+$/, ''), whole.replace(/\uFFFD+$/, ''), `${name}, after ${end} of ${stream.length} tokens`);
    }
    assert.equal(incremental.push(stream), decode(stream));
    // Short windows: far fewer tokens decoded than the whole-output decode's n(n+1)/2.
    const n = stream.length;
    assert.ok(decoded < 8 * n, `${name}: ${decoded} tokens decoded for ${n} (whole decodes: ${(n * (n + 1)) / 2})`);
  });
}
