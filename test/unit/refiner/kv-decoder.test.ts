// The decoder's own KV-cache handling against one whole pass over the same tokens: a prompt run in
// chunks, a cache cut back after rejected tokens, and the preallocated cache buffers all give the
// logits a single pass gives.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ModelHost } from '../../../src/refiner/host';
import { KvDecoder } from '../../../src/refiner/kv-decoder';
import { makeTinyModel } from '../../../src/models/fixtures/tiny-model';
import { TINY, tempRoot } from './fixtures';

const { root, cleanup } = tempRoot('kv-decoder');
let host: ModelHost;

before(async () => {
  host = new ModelHost({ cacheDir: join(root, 'cache'), idleUnloadMs: 0 });
  // Two kv heads, so cutting the cache back has rows to move between heads.
  const out = join(root, 'tiny');
  await makeTinyModel({ ...TINY, heads: 4, kvHeads: 2, out, seed: 4 });
  host.configure({ follower: { spec: out } });
});

after(async () => {
  await host.unloadAll();
  cleanup();
});

const ids = Array.from({ length: 23 }, (_, i) => 40 + ((i * 7) % 50));

function assertClose(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i] - expected[i]) < 1e-4, `${what}, logit ${i}: ${actual[i]} vs ${expected[i]}`);
}

test('chunked prefill, cut-back cache and preallocated buffers give the logits of one whole pass', async () => {
  await host.use('follower', async (m) => {
    const session = m.model.sessions.model;
    // Reference: every position's logits from one pass over all tokens.
    const whole = new KvDecoder(session);
    const { logits, vocab } = await whole.forward(ids);
    const row = (i: number) => logits.subarray(i * vocab, (i + 1) * vocab);
    for (const capacity of [undefined, ids.length]) {
      const label = capacity ? 'preallocated' : 'ORT-allocated';
      const decoder = new KvDecoder(session, capacity);
      assertClose((await decoder.prefill(ids.slice(0, 17), 5))!, row(16), `${label}: prefill in chunks of 5`);
      assert.equal(decoder.length, 17);
      assert.equal(decoder.passes, 4);
      // Two wrong tokens verified, then cut back: the next pass sees only the prompt.
      await decoder.forward([1, 2]);
      await decoder.truncate(17);
      const next = await decoder.forward(ids.slice(17, 20));
      for (let i = 0; i < 3; i++) assertClose(next.logits.subarray(i * vocab, (i + 1) * vocab), row(17 + i), `${label}: after the cut, position ${17 + i}`);
      // Keep one of the three, then go on one token at a time.
      await decoder.truncate(18);
      for (let p = 18; p < ids.length; p++) assertClose((await decoder.forward([ids[p]])).logits, row(p), `${label}: decode at ${p}`);
      decoder.dispose();
    }
    // The prompt's last pass returns several rows (a first draft verified with it), even when the
    // chunking would leave it shorter than them: 23 tokens in chunks of 10 end with a pass of 13.
    const decoder = new KvDecoder(session);
    const last5 = (await decoder.prefill(ids, 10, undefined, 5))!;
    assert.equal(decoder.passes, 2);
    for (let i = 0; i < 5; i++) assertClose(last5.subarray(i * vocab, (i + 1) * vocab), row(18 + i), `prefill keeping 5 rows, row ${i}`);
    decoder.dispose();
  });
});

test('a prefill stops between chunks once asked to (Cancel during a long prompt)', async () => {
  await host.use('follower', async (m) => {
    const decoder = new KvDecoder(m.model.sessions.model);
    assert.equal(await decoder.prefill(ids, 5, () => decoder.passes >= 2), null);
    assert.equal(decoder.passes, 2);
    assert.equal(decoder.length, 10);
    decoder.dispose();
  });
});
