// Bounded work for long text: a round whose prompt fits the model's context but whose prefill would
// not fit the memory the refiner may use is refused before the prefill starts (attention memory
// grows with the square of the prompt: 20,000 characters took the extension host past 9 GB).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultMemoryLimitBytes } from '../../../src/base/child-process';
import { checkMemoryBudget, generationBytes, largestPrompt, modelDims } from '../../../src/refiner/limits';
import { ModelHost } from '../../../src/refiner/host';
import { refine } from '../../../src/refiner/loop';
import { RefinerInputError } from '../../../src/refiner/refiner-settings';
import { collect, results, tempRoot, tinyModel } from './fixtures';

const { root, cleanup } = tempRoot('budget');
const GIB = 2 ** 30;
let modelDir: string;
before(async () => {
  modelDir = await tinyModel(join(root, 'tiny'));
});
after(cleanup);

const builtIn = modelDims(JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'assets', 'default-model', 'config.json'), 'utf8')));

test('the estimate stays above what a prefill was measured to add', () => {
  // Measured on the built-in model (peak RSS growth of one generation, maxNewTokens 2) since the
  // prompt runs in chunks: 2,036 prompt tokens added 58 MiB, 4,200 added 117 MiB, 8,428 added 241 MiB
  // (linear; before chunking 2,444 tokens added 311 MiB and 5,004 added 1,309 MiB).
  for (const [tokens, measuredMiB] of [[2036, 58], [4200, 117], [8428, 241]]) {
    const estimate = generationBytes(builtIn, tokens, 2) / 2 ** 20;
    assert.ok(estimate >= measuredMiB && estimate < 1.3 * measuredMiB, `${tokens} tokens: estimated ${estimate} MiB, measured ${measuredMiB} MiB`);
  }
  const fits = largestPrompt(builtIn, 64, 2 * GIB);
  assert.ok(generationBytes(builtIn, fits, 64) <= 2 * GIB && generationBytes(builtIn, fits + 1, 64) > 2 * GIB);
});

test('the default cap is half the memory, at most 8 GiB', () => {
  const limit = defaultMemoryLimitBytes();
  assert.ok(limit > 0 && limit <= 8 * GIB);
});

test('a round over the budget is refused with the limit and what to do', () => {
  const input = { dims: builtIn, promptTokens: 100_000, maxNewTokens: 256, role: 'follower', limitBytes: 4 * GIB, residentBytes: 1 * GIB };
  assert.throws(() => checkMemoryBudget(input), (e: Error) => e instanceof RefinerInputError &&
    /^The follower prompt is too long for the memory available: 100000 prompt tokens \+ 256 new tokens would need about \d+\.\d GB, and the refiner may use 4\.0 GB \(3\.0 GB beside the loaded model\)\. Refine a shorter selection \(at most about \d+ tokens of prompt here\), in parts, or lower maxNewTokens\.$/.test(e.message));
  checkMemoryBudget({ ...input, promptTokens: 2000 });
});

test('20,000 characters of one sentence are refused before the prefill, and a short text under the same cap refines', async () => {
  await import('@huggingface/transformers'); // loaded before the cap is taken, so the cap is what generation may add
  // Chunked prefill needs about 300 MB for this text (it needed ~6 GB when the prompt ran whole), so the cap is tighter than that.
  const limitBytes = process.memoryUsage.rss() + 128 * 2 ** 20;
  const host = new ModelHost({ cacheDir: join(root, 'cache'), idleUnloadMs: 0, memoryLimitBytes: limitBytes });
  host.configure({ follower: { spec: modelDir } });
  // 20,000 characters inside the context, with no sentence end to split at (sentences are refined in
  // pieces that fit: split-round.test.ts).
  const draft = 'all work and no play makes a dull text '.repeat(513).slice(0, 20_000);
  await assert.rejects(collect(refine(host, { draft, rounds: 1, settings: { seed: 1, maxNewTokens: 8 } })),
    (e: Error) => e instanceof RefinerInputError && /^One sentence is too long for the follower model even on its own: .* takes a prompt of \d+ tokens, and this model takes at most \d+ here/.test(e.message));
  // The prefill never ran: the process stayed under the cap.
  assert.ok(process.resourceUsage().maxRSS * 1024 < limitBytes, `peak ${process.resourceUsage().maxRSS / 1024} MB`);
  const [round] = results(await collect(refine(host, { draft: 'Short text.', rounds: 1, settings: { seed: 1, maxNewTokens: 8 } })));
  assert.equal(round.round, 1);
  await host.unloadAll();
});
