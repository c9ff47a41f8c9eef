// A chat template that loops 1e7-1e8 times (issue 18: 2.6 GB, synchronous in the refiner) is refused
// when it asks for the loop; real templates, including ones that index messages with range(), render
// as before. Uses transformers.js's own template engine through renderPrompt.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel } from '../../../src/models/tiny-models/tiny-model';
import { renderPrompt, type ChatTokenizer } from '../../../src/models/prompts';
import { checkTemplateBudget, TEMPLATE_LIMITS, TemplateBudgetError } from '../../../src/models/template-budget';

let root: string;
let real: ChatTokenizer;
before(async () => {
  root = mkdtempSync(join(tmpdir(), 'slhf-template-'));
  await makeTinyModel({ arch: 'qwen2', tokenizer: 'bytes', out: join(root, 'tiny'), seed: 1 });
  const { AutoTokenizer, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = root;
  real = (await AutoTokenizer.from_pretrained('tiny')) as unknown as ChatTokenizer;
});
after(() => rmSync(root, { recursive: true, force: true }));

/** The fixture's tokenizer with another chat template. */
function withTemplate(template: string): ChatTokenizer {
  return { chat_template: template, apply_chat_template: (m, o) => real.apply_chat_template(m, { ...o, chat_template: template }) };
}

const messages = [{ role: 'system' as const, content: 'S' }, { role: 'user' as const, content: 'Hi' }];

test('a template looping ten million times is refused at the loop, with a message that names the template', () => {
  for (const template of [
    '{% for i in range(10000000) %}x{% endfor %}',
    '{% for i in range(3000) %}{% for j in range(3000) %}x{% endfor %}{% endfor %}',
  ]) {
    assert.throws(() => renderPrompt(withTemplate(template), messages),
      (e: unknown) => e instanceof TemplateBudgetError && /the model.s chat template (loops more than 100000 times|takes more than 50000 steps)/.test((e as Error).message), template);
  }
});

test('templates that use range() for message indices render as before', () => {
  const template = '{% for i in range(messages|length) %}[{{ i }}:{{ messages[i].role }}:{{ messages[i].content }}]{% endfor %}' +
    '{% for i in range(messages|length - 1, -1, -1) %}{{ i }}{% endfor %}{% for i in range(0, 7, 3) %}{{ i }}{% endfor %}';
  assert.equal(renderPrompt(withTemplate(template), messages).text, '[0:system:S][1:user:Hi]10036');
  assert.ok(renderPrompt(real, messages).text.includes('<|im_start|>user\nHi<|im_end|>'));
});

test('the dry run: range() with Python semantics, limits on steps and string sizes; other template errors left to the real render', () => {
  const out = (source: string) => {
    checkTemplateBudget(source, {});
    return true;
  };
  assert.ok(out('{% for i in range(5, 1, -2) %}{{ i }}{% endfor %}{% for i in range(2, 2) %}x{% endfor %}'));
  const budget = (pattern: RegExp) => (e: unknown) => e instanceof TemplateBudgetError && pattern.test((e as Error).message);
  assert.throws(() => out('{% for i in range(100001) %}{% endfor %}'), budget(/loops more than 100000 times/));
  assert.throws(() => out('{% for a in range(300) %}{% for b in range(300) %}{{ a }}{{ b }}{% endfor %}{% endfor %}'), budget(/more than 50000 steps/));
  assert.throws(() => out("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}"), budget(/a string of more than \d+ characters/));
  assert.ok(out("{{ raise_exception('System role not supported') }}"));
  assert.ok(out('{% if %}broken syntax'));
  assert.equal(TEMPLATE_LIMITS.rangeNumbers, 100_000);
});
