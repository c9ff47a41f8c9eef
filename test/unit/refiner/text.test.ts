// Text in and out: input limits, presets, chat-template and plain prompts, and clean extraction
// whose streamed chunks join to the final text.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractText, StreamingExtractor, type ExtractOptions } from '../../../src/refiner/extract';
import { checkContext, checkText, decodeUtf8Strict } from '../../../src/refiner/limits';
import { DEFAULT_FOLLOWER_INSTRUCTION, followerMessages, leaderMessages, PLAIN_STOP_STRINGS, presetFor, PRESETS, renderPrompt } from '../../../src/models/prompts';
import { RefinerInputError } from '../../../src/refiner/refiner-settings';
import { makeTinyModel } from '../../../src/models/tiny-models/tiny-model';
import { seededRandom } from '../../../src/base/seeded-random';
import { tempRoot, tinyModel } from './fixtures';

const { root, cleanup } = tempRoot('text');
let modelDir: string;
before(async () => {
  modelDir = await tinyModel(join(root, 'tiny'));
});
after(cleanup);

test('text limits: empty, NUL, replacement characters, surrogates, invalid UTF-8', () => {
  const refused = (fn: () => void, pattern: RegExp) => assert.throws(fn, (e: Error) => e instanceof RefinerInputError && pattern.test(e.message));
  refused(() => checkText(''), /The draft is empty/);
  refused(() => checkText('\n  \t'), /The draft is empty/);
  refused(() => checkText('a\u0000b'), /NUL bytes/);
  refused(() => checkText('bad \uFFFD', 'The context'), /^The context contains U\+FFFD/);
  refused(() => checkText('\uDC00x'), /unpaired UTF-16 surrogates/);
  checkText('Fine text, with émojis 🎉 and CJK 漢字.');
  refused(() => decodeUtf8Strict(Uint8Array.from([0x61, 0xff, 0x62])), /not valid UTF-8/);
  assert.equal(decodeUtf8Strict(new TextEncoder().encode('ok ✓')), 'ok ✓');
  checkContext(100, 28, 128, 'follower');
  refused(() => checkContext(100, 29, 128, 'follower'), /follower prompt is too long: 100 prompt tokens \+ 29 new tokens .* context of 128 tokens\. Shorten the text by at least 1 tokens/);
});

test('presets follow the VS Code language id, and can be overridden', () => {
  assert.equal(presetFor('plaintext').kind, 'prose');
  assert.equal(presetFor('markdown').kind, 'prose');
  assert.equal(presetFor(undefined).kind, 'prose');
  assert.equal(presetFor('git-commit').kind, 'commit-message');
  assert.equal(presetFor('typescript', '// adds two numbers').kind, 'code-comment');
  assert.equal(presetFor('python', '    """Adds two numbers."""').kind, 'docstring');
  assert.equal(presetFor('java', '/** Adds. */').kind, 'docstring');
  assert.equal(presetFor('markdown', 'text', 'commit-message').kind, 'commit-message');
  assert.throws(() => presetFor('markdown', '', 'poem' as never), /Unknown document kind "poem"/);
});

test('Leader and Follower prompts with the model\'s chat template', async () => {
  const { AutoTokenizer, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = root;
  const tokenizer = await AutoTokenizer.from_pretrained('tiny');
  const x = { preset: PRESETS.prose, instruction: 'Describe the fox.', context: 'A story about animals.' };
  const leader = renderPrompt(tokenizer as never, leaderMessages(x));
  assert.equal(leader.template, 'model');
  assert.equal(leader.addSpecialTokens, false);
  assert.equal(leader.text,
    `<|im_start|>system\n${PRESETS.prose.system}<|im_end|>\n<|im_start|>user\nDescribe the fox.\n\nContext:\nA story about animals.<|im_end|>\n<|im_start|>assistant\n`);
  const follower = renderPrompt(tokenizer as never, followerMessages(x, '  The fox is quick.\n'));
  // The Leader conversation, the draft as the assistant's turn, then the follower instruction as a user turn.
  assert.equal(follower.text, leader.text + `The fox is quick.<|im_end|>\n<|im_start|>user\n${DEFAULT_FOLLOWER_INSTRUCTION}<|im_end|>\n<|im_start|>assistant\n`);
  assert.equal(DEFAULT_FOLLOWER_INSTRUCTION, 'Improve the previous answer. Phrase it as if it was the original response.');
  const custom = renderPrompt(tokenizer as never, followerMessages(x, 'Draft.', 'Make it shorter.'));
  assert.ok(custom.text.endsWith('<|im_start|>user\nMake it shorter.<|im_end|>\n<|im_start|>assistant\n'));
  assert.equal(leaderMessages({ preset: PRESETS['commit-message'] })[1].content, PRESETS['commit-message'].instruction);
});

test('real chat templates: Qwen3 opens the answer without thinking, Llama 3 gets one BOS', async () => {
  const { AutoTokenizer, env } = await import('@huggingface/transformers');
  env.localModelPath = root;
  const shape = { layers: 1, hidden: 16, heads: 2, kvHeads: 1, intermediate: 16 };
  await makeTinyModel({ arch: 'qwen2', tokenizer: 'qwen3', out: join(root, 'qwen3'), ...shape });
  await makeTinyModel({ arch: 'llama', tokenizer: 'llama3', out: join(root, 'llama3'), ...shape });
  const messages = followerMessages({ preset: PRESETS.prose }, 'Draft.');
  const qwen = renderPrompt((await AutoTokenizer.from_pretrained('qwen3')) as never, messages);
  assert.ok(qwen.text.endsWith('<|im_start|>assistant\n<think>\n\n</think>\n\n'), JSON.stringify(qwen.text.slice(-60)));
  const llamaTokenizer = (await AutoTokenizer.from_pretrained('llama3')) as any;
  const llama = renderPrompt(llamaTokenizer, messages);
  const ids: number[] = llamaTokenizer.encode(llama.text, { add_special_tokens: llama.addSpecialTokens });
  assert.equal(ids.filter((id) => id === 128000).length, 1, 'one <|begin_of_text|>');
  assert.ok(llama.text.endsWith('<|start_header_id|>assistant<|end_header_id|>\n\n'));
});

test('a model without a chat template gets the plain-text template, with stop strings', async () => {
  const config = JSON.parse(readFileSync(join(modelDir, 'tokenizer_config.json'), 'utf8'));
  delete config.chat_template;
  writeFileSync(join(modelDir, 'tokenizer_config.json'), JSON.stringify(config));
  const { AutoTokenizer, env } = await import('@huggingface/transformers');
  env.localModelPath = root;
  const tokenizer = await AutoTokenizer.from_pretrained('tiny');
  const rendered = renderPrompt(tokenizer as never, followerMessages({ preset: PRESETS.prose }, 'Draft.'));
  assert.equal(rendered.template, 'plain');
  assert.equal(rendered.text, `System: ${PRESETS.prose.system}\n\nUser: ${PRESETS.prose.instruction}\n\nAssistant: Draft.\n\nUser: ${DEFAULT_FOLLOWER_INSTRUCTION}\n\nAssistant:`);
  assert.deepEqual(rendered.stopStrings, PLAIN_STOP_STRINGS);
});

test('a template that refuses a system turn gets it folded into the first user turn', () => {
  const strict = {
    chat_template: 'x',
    apply_chat_template(messages: { role: string; content: string }[]) {
      if (messages.some((m) => m.role === 'system')) throw new Error('System role not supported');
      return messages.map((m) => `[${m.role}] ${m.content}`).join('\n');
    },
  };
  const rendered = renderPrompt(strict, leaderMessages({ preset: PRESETS.prose, instruction: 'Go.' }));
  assert.equal(rendered.text, `[user] ${PRESETS.prose.system}\n\nGo.`);
});

const opts: ExtractOptions = { original: '\n  Draft text.  \n\n', stopStrings: PLAIN_STOP_STRINGS, echo: DEFAULT_FOLLOWER_INSTRUCTION };

test('extraction: outer whitespace from the original, stop strings, echoed instruction', () => {
  const final = (decoded: string) => extractText(decoded, opts, true).text;
  assert.equal(final(' Better text. \n'), '\n  Better text.  \n\n');
  assert.equal(final('Better.\nUser: next turn'), '\n  Better.  \n\n');
  assert.equal(extractText('Better.\nUser: x', opts, false).stop, true);
  assert.equal(final(`${DEFAULT_FOLLOWER_INSTRUCTION}\n\nBetter.`), '\n  Better.  \n\n');
  assert.equal(final('Line one.\n\n  Line two.'), '\n  Line one.\n\n  Line two.  \n\n', 'inner whitespace is the model\'s');
  assert.equal(extractText('Better.', { original: 'x', stopStrings: [] }, true).text, 'Better.');
  assert.equal(final('<think>\nHmm.\n</think>\n\nBetter.'), '\n  Better.  \n\n', 'a reasoning block is not the answer');
  assert.equal(extractText('<think>still thinking', opts, false).text, '');
});

test('streamed extraction joins to the final text for any split of the completion', () => {
  const completions = [
    `${DEFAULT_FOLLOWER_INSTRUCTION} A refined sentence, with some words.\n\nAnd more.  \n`,
    'Short.\nUse: not a stop\nUser: stop here',
    '   \n\n',
    'Improve the previous answer but differently.',
    'Bytes \uFFFD\uFFFD then text.',
    '<think>\nLet me see.\n</think>\n\nThe answer.',
    '<thin',
  ];
  const random = seededRandom(4);
  for (const completion of completions) {
    for (let trial = 0; trial < 20; trial++) {
      const extractor = new StreamingExtractor(opts);
      let joined = '';
      let at = 0;
      let stopped = false;
      while (at < completion.length && !stopped) {
        at = Math.min(completion.length, at + 1 + Math.floor(random() * 4));
        const { chunk, stop } = extractor.push(completion.slice(0, at));
        joined += chunk;
        stopped = stop;
      }
      const { chunk, text } = extractor.finish(completion.slice(0, at));
      joined += chunk;
      assert.equal(joined, text, JSON.stringify(completion));
      assert.equal(text, extractText(completion, opts, true).text);
    }
  }
});
