// The decoder's own KV-cache handling against one whole pass over the same tokens: a prompt run in
// chunks, a cache cut back after rejected tokens, and the preallocated cache buffers (two alternating
// ones for the plain graph, one per tensor that the decoder appends the contrib graph's new rows to)
// all give the logits a single pass gives.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ModelHost } from '../../../src/refiner/host';
import { KvDecoder, CACHE_BUFFER_STEP } from '../../../src/refiner/kv-decoder';
import { makeTinyModel, TINY_SHAPE } from '../../../src/models/tiny-models/tiny-model';
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
      assertClose((await decoder.prefill(ids.slice(0, 17), 5))!.logits, row(16), `${label}: prefill in chunks of 5`);
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
    for (let i = 0; i < 5; i++) {
      const logits = last5.logits.subarray(i * vocab, (i + 1) * vocab);
      assertClose(logits, row(18 + i), `prefill keeping 5 rows, row ${i}`);
      // The graph's log sum exp of each kept row (what chooseToken normalizes by at temperature 1).
      const max = Math.max(...logits);
      const expected = max + Math.log(logits.reduce((sum, v) => sum + Math.exp(v - max), 0));
      assert.ok(Math.abs(last5.logSumExps![i] - expected) < 1e-4, `row ${i}: log sum exp ${last5.logSumExps![i]} vs ${expected}`);
    }
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

test('the contrib graph\'s cache is one buffer the decoder appends each pass\'s rows to, never fetched back (int8 default too): the plain graph\'s logits at every step, across the buffer\'s growth', async () => {
  const { exportOnnx, CPU_DEFAULT_FORMAT } = await import('../../../src/models/export');
  const checkpoint = join(root, 'shaped');
  await makeTinyModel({ ...TINY_SHAPE, arch: 'qwen2', tokenizer: 'bytes', out: checkpoint, seed: 6 });
  const folders = { plain: join(root, 'shaped-plain'), contrib: join(root, 'shaped-contrib'), int8: join(root, 'shaped-int8'), fp16: join(root, 'shaped-fp16') };
  await exportOnnx(checkpoint, folders.plain, { graph: 'plain' });
  await exportOnnx(checkpoint, folders.contrib, { graph: 'contrib' });
  await exportOnnx(checkpoint, folders.int8, CPU_DEFAULT_FORMAT);
  // A float16 cache: the new rows come back as float16 bits and go into Uint16Array buffers.
  await exportOnnx(checkpoint, folders.fp16, { graph: 'contrib', dtype: 'float16' });
  const shaped = new ModelHost({ cacheDir: join(root, 'cache'), idleUnloadMs: 0 });
  // Longer than two growth steps of the buffer, so it is regrown (and its rows moved) twice.
  const long = Array.from({ length: 2 * CACHE_BUFFER_STEP + 40 }, (_, i) => 3 + ((i * 37) % 250));
  try {
    shaped.configure({ follower: { spec: folders.plain } });
    const reference = await shaped.use('follower', async (m) => {
      const whole = new KvDecoder(m.model.sessions.model);
      const out = await whole.forward(long);
      whole.dispose();
      return out;
    });
    const row = (i: number) => reference.logits.subarray(i * reference.vocab, (i + 1) * reference.vocab);
    // The refiner's pass pattern: a chunked prefill, drafts verified on the filled cache and cut back,
    // then one token at a time. Returns each pass's logits rows with the position each row predicts from.
    const script = async (decoder: KvDecoder): Promise<[Float32Array, number][]> => {
      const rows: [Float32Array, number][] = [[(await decoder.prefill(long.slice(0, 150), 60))!.logits, 149]];
      await decoder.forward([1, 2, 3, 4]);
      await decoder.truncate(150);
      const next = await decoder.forward(long.slice(150, 156));
      for (let i = 0; i < 6; i++) rows.push([next.logits.slice(i * next.vocab, (i + 1) * next.vocab), 150 + i]);
      await decoder.truncate(153);
      for (let p = 153; p < long.length; p++) rows.push([(await decoder.forward([long[p]])).logits.slice(), p]);
      return rows;
    };
    for (const [label, folder] of [['contrib', folders.contrib], ['int8 contrib', folders.int8], ['float16 contrib', folders.fp16]] as const) {
      shaped.configure({ follower: { spec: folder } });
      await shaped.use('follower', async (m) => {
        const session = m.model.sessions.model;
        // What each pass fetches: onnxruntime-node copies every fetched output into a new buffer.
        const fetched = new Set<string>();
        const watched = {
          inputNames: session.inputNames, outputNames: session.outputNames, inputMetadata: session.inputMetadata,
          run: (feeds: any, fetches: any) => {
            for (const name of Object.keys(fetches ?? {})) fetched.add(name);
            return session.run(feeds, fetches);
          },
        };
        const appending = new KvDecoder(watched, long.length);
        assert.equal(appending.appendsRows, true, `${label}: the contrib graph's cache is appended to`);
        const got = await script(appending);
        assert.deepEqual([...fetched].filter((name) => name.startsWith('present.')), [], `${label}: no present is fetched`);
        assert.ok(fetched.has('new_rows.0.key'), `${label}: the new rows are`);
        // The same passes with ORT allocating every present: the same kernels on the same shapes.
        const allocated = new KvDecoder(m.model.sessions.model);
        assert.equal(allocated.appendsRows, false);
        const expected = await script(allocated);
        got.forEach(([logits, at], i) => assertClose(logits, expected[i][0], `${label}: appended against ORT-allocated cache, position ${at}`));
        // Float32: the plain graph's whole pass too (int8 moves logits by its drift, and by more where
        // a kernel takes another path for one row than for many).
        if (label === 'contrib') got.forEach(([logits, at]) => assertClose(logits, row(at), `${label}: against the plain graph, position ${at}`));
        appending.dispose();
        allocated.dispose();
      });
    }
    shaped.configure({ follower: { spec: folders.plain } });
    await shaped.use('follower', async (m) => assert.equal(new KvDecoder(m.model.sessions.model, 8).appendsRows, false, 'the plain graph concatenates: no appended buffer'));
  } finally {
    await shaped.unloadAll();
  }
});
