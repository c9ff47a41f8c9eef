// Long text is split, not refused (issue 18): a text over a model's budget (its context, or the
// memory the refiner may use) is refined in pieces that fit, paragraphs first, then sentences, each
// with the text before it as context, and joined back with the original whitespace. Only a sentence
// too long on its own is refused. A later round over the budget keeps the rounds before it, and
// Cancel while the model loads ends the request without waiting for the load.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ModelHost } from '../../../src/refiner/host';
import { refine, type RefineEvent } from '../../../src/refiner/loop';
import { generationBytes, modelDims, promptTokenBudget, SPLIT_ABOVE_BYTES } from '../../../src/refiner/limits';
import { joinPieces, paragraphSpans, piecesFromSpans, sentenceSpans } from '../../../src/refiner/segment';
import { PIECE_CONTEXT_CHARS, promptTokenCount, type PieceRound } from '../../../src/refiner/split-round';
import { RefinerInputError, type GeneratedText } from '../../../src/refiner/refiner-settings';
import { SCHEMA_VERSION, type SessionRecord } from '../../../src/store/schema';
import { validateRecord } from '../../../src/store/validate';
import { collect, results, tempRoot, tinyModel } from './fixtures';

const { root, cleanup } = tempRoot('split');
let modelDir: string;
before(async () => {
  modelDir = await tinyModel(join(root, 'tiny'));
});
after(cleanup);

function hostFor(options: { memoryLimitBytes?: number } = {}): ModelHost {
  const host = new ModelHost({ cacheDir: join(root, 'cache'), idleUnloadMs: 0, ...options });
  host.configure({ follower: { spec: modelDir } });
  return host;
}

/**
 * Checks that `round` is `draft` with each piece replaced by its refinement: every piece's prompt
 * refines a stretch of the draft, the stretches come in order, only whitespace lies between them,
 * and the round's text is those stretches' outputs joined with that whitespace.
 */
function assertReassembled(draft: string, round: PieceRound, context = '', contextChars = PIECE_CONTEXT_CHARS): void {
  let at = 0;
  let expected = '';
  for (const piece of round.pieces) {
    const input = piece.prompt.refined!;
    const start = draft.indexOf(input, at);
    assert.ok(start >= at, `piece ${JSON.stringify(input.slice(0, 40))} is not the next stretch of the draft`);
    assert.match(draft.slice(at, start), /^\s*$/, 'only whitespace lies between pieces');
    // What the model saw: the text just before the piece, as the editor gives a selection.
    assert.equal(piece.prompt.context, (context + draft.slice(0, start)).slice(-contextChars));
    expected += draft.slice(at, start) + piece.text;
    at = start + input.length;
  }
  assert.match(draft.slice(at), /^\s*$/);
  assert.equal(round.text, expected + draft.slice(at));
}

test('segments: paragraphs, Intl.Segmenter sentences, and pieces that join back to the text exactly', () => {
  const text = '  First one. Second one!\n\n\t\nThird para\nwith a line.  \r\n\r\nLast.\n';
  const paragraphs = paragraphSpans(text);
  assert.deepEqual(paragraphs.map((s) => text.slice(s.start, s.end)), ['First one. Second one!', 'Third para\nwith a line.', 'Last.']);
  assert.deepEqual(sentenceSpans(text, paragraphs[0]).map((s) => text.slice(s.start, s.end)), ['First one.', 'Second one!']);
  assert.deepEqual(sentenceSpans(text, paragraphs[1]).map((s) => text.slice(s.start, s.end)), ['Third para', 'with a line.']);
  const pieces = piecesFromSpans(text, [...sentenceSpans(text, paragraphs[0]), paragraphs[1], paragraphs[2]]);
  assert.equal(joinPieces(pieces), text);
  assert.deepEqual(pieces.filter((p) => !p.refine).map((p) => p.text), ['  ', ' ', '\n\n\t\n', '  \r\n\r\n', '\n']);
});

test('the budget: the context less the new tokens, the memory beside the model, and at most 1 GiB of working memory', () => {
  const dims = modelDims({ num_hidden_layers: 24, hidden_size: 896, num_attention_heads: 14, num_key_value_heads: 2, intermediate_size: 4864, vocab_size: 151936 });
  const limits = { dims, contextLength: 1 << 20, maxNewTokens: 256, limitBytes: 8 * 2 ** 30, residentBytes: 2 ** 30 };
  const byMemory = promptTokenBudget(limits);
  assert.ok(generationBytes(dims, byMemory, 256) <= 7 * 2 ** 30 && generationBytes(dims, byMemory + 1, 256) > 7 * 2 ** 30);
  const preferred = promptTokenBudget({ ...limits, ceilingBytes: SPLIT_ABOVE_BYTES });
  assert.ok(generationBytes(dims, preferred, 256) <= SPLIT_ABOVE_BYTES && generationBytes(dims, preferred + 1, 256) > SPLIT_ABOVE_BYTES);
  assert.ok(preferred > 1000 && preferred < byMemory, `${preferred} tokens`);
  assert.equal(promptTokenBudget({ ...limits, contextLength: 1000 }), 1000 - 256);
});

test('20,000 characters over the memory budget (128 MiB beside the model) are refined in pieces that fit, joined with their whitespace kept', async () => {
  await import('@huggingface/transformers'); // loaded before the cap is taken, so the cap is what generation may add
  const limitBytes = process.memoryUsage.rss() + 128 * 2 ** 20;
  const host = hostFor({ memoryLimitBytes: limitBytes });
  const paragraph = 'All work and no play makes a dull text. '.repeat(10).trim();
  const gaps = ['\n\n', '\n  \n', '\n\n\n'];
  let draft = '';
  for (let i = 0; draft.length < 20_000; i++) draft += paragraph + gaps[i % gaps.length];
  draft = draft.slice(0, 20_000);
  try {
    const events = await collect(refine(host, { draft, rounds: 1, settings: { seed: 1, maxNewTokens: 8 } }));
    const [round] = results(events) as PieceRound[];
    assert.ok(round.pieces.length > 1, 'split into pieces');
    assertReassembled(draft, round);
    // Every piece fits the memory beside the model, where the whole text did not.
    const loaded = await host.use('follower', async (m) => m);
    const available = limitBytes - loaded.residentAfterLoad;
    assert.ok(generationBytes(loaded.dims, promptTokenCount(loaded.tokenizer, round.prompt), 8) > available, 'the whole text does not fit');
    for (const piece of round.pieces) assert.ok(generationBytes(loaded.dims, piece.prompt.tokenIds!.length, 8) <= available, `${piece.prompt.tokenIds!.length} tokens`);
    // The stream carries the round's text.
    assert.equal(events.flatMap((e) => (e.type === 'chunk' ? [e.text] : [])).join(''), round.text);
    // Recorded like a sentence-by-sentence round: the whole-text prompt, no tokens of its own (off-policy).
    assert.equal(round.prompt.refined, draft);
    assert.deepEqual([round.tokenIds.length, round.logprobs.length], [0, 0]);
    assert.equal(round.stopReason, 'max-new-tokens');
    const now = new Date().toISOString();
    const record: SessionRecord = {
      kind: 'session', schemaVersion: SCHEMA_VERSION, id: 's', workspace: 'w', createdAt: now, updatedAt: now, languageId: 'plaintext',
      preset: 'prose', context: '', instruction: '', draft: { text: draft, source: 'user' }, rounds: [round], decision: { kind: 'accepted', round: 0, decidedAt: now },
    };
    assert.equal(validateRecord(JSON.parse(JSON.stringify(record))).kind, 'session');
  } finally {
    await host.unloadAll();
  }
});

test('a paragraph over the context is split by sentences; each piece\'s prompt fits and carries the text before it', async () => {
  const host = hostFor();
  const draft = 'The first sentence is here. Then another one follows it! Is this the third? '.repeat(24).trim();
  const context = 'Some text before the selection. ';
  try {
    const [round] = results(await collect(refine(host, { draft, context, rounds: 1, contextLimit: 600, settings: { seed: 2, maxNewTokens: 16 } }))) as PieceRound[];
    assert.ok(round.pieces.length > 2, `${round.pieces.length} pieces`);
    for (const piece of round.pieces) {
      assert.ok(piece.prompt.tokenIds!.length + 16 <= 600, `${piece.prompt.tokenIds!.length} prompt tokens`);
      assert.match(piece.prompt.refined!, /[.!?]$/, 'pieces end at sentence ends');
    }
    // 400 characters of context would take more than half of this context: it gets a quarter of that.
    assertReassembled(draft, round, context, PIECE_CONTEXT_CHARS / 4);
  } finally {
    await host.unloadAll();
  }
});

test('one sentence too long on its own is refused with the limit and what to do', async () => {
  const host = hostFor();
  try {
    await assert.rejects(collect(refine(host, { draft: 'word '.repeat(400).trim(), rounds: 1, contextLimit: 600, settings: { seed: 1, maxNewTokens: 16 } })),
      (e: Error) => e instanceof RefinerInputError &&
        /^One sentence is too long for the follower model even on its own: refining "word word .*…" \(1999 characters\) takes a prompt of \d+ tokens, and this model takes at most \d+ here \(its context and the memory available, with 16 new tokens\)\. Longer texts are refined in parts, paragraph by paragraph or sentence by sentence; break this sentence up \(or select less\), or lower maxNewTokens\.$/.test(e.message));
  } finally {
    await host.unloadAll();
  }
});

test('a round 2 over the budget keeps round 1 and says that round 2 was skipped', async () => {
  const host = hostFor();
  try {
    // Round 1 refines 3 characters within the context; the tiny model answers with 40 replacement
    // characters (3 bytes, so 3 tokens each), one "sentence" that round 2 cannot fit or split.
    const events = await collect(refine(host, { draft: 'Hi.', rounds: 2, contextLimit: 200, settings: { seed: 1, maxNewTokens: 40 } }));
    const rounds = results(events);
    assert.equal(rounds.length, 1);
    assert.ok(rounds[0].text.length > 10, rounds[0].text);
    const done = events.at(-1) as Extract<RefineEvent, { type: 'done' }>;
    assert.equal(done.type, 'done');
    assert.equal(done.stoppedBy, 'rounds');
    assert.deepEqual(done.rounds.map((r: GeneratedText) => r.text), [rounds[0].text]);
    assert.equal(done.skipped?.round, 2);
    assert.match(done.skipped!.reason, /^One sentence is too long for the follower model even on its own/);
  } finally {
    await host.unloadAll();
  }
});

test('Cancel while the model is exported and loaded ends the request at once; the next one refines', async () => {
  const controller = new AbortController();
  // Cancelled as the export of a fresh cache begins.
  const host = new ModelHost({ cacheDir: join(root, 'cache-cancel'), idleUnloadMs: 0, log: (m) => /^exporting /.test(m) && controller.abort() });
  host.configure({ follower: { spec: modelDir } });
  try {
    const events = await collect(refine(host, { draft: 'Short text.', rounds: 1, settings: { seed: 1, maxNewTokens: 4 } }, controller.signal));
    assert.ok(controller.signal.aborted, 'the export began');
    // Before: the request waited for the export and the load, then recorded a cancelled round.
    assert.deepEqual(events.filter((e) => e.type === 'round-end'), []);
    assert.equal((events.at(-1) as Extract<RefineEvent, { type: 'done' }>).stoppedBy, 'cancelled');
    const [round] = results(await collect(refine(host, { draft: 'Short text.', rounds: 1, settings: { seed: 1, maxNewTokens: 4 } })));
    assert.equal(round.stopReason === 'cancelled', false);
  } finally {
    await host.unloadAll();
  }
});
