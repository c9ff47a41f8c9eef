// Chat templates come with the model (a downloaded folder), and the Jinja interpreter runs them
// synchronously: `{% for i in range(100000000) %}` held the refiner for minutes and grew to 2.6 GB,
// and nothing can interrupt a synchronous render from outside. So before transformers.js renders a
// template, the same template is dry-run on the same inputs by an interpreter that counts its steps
// and the size of every string it makes, and stops at the first one past TEMPLATE_LIMITS. Real
// templates take a few hundred steps (Qwen3's: 224, Llama 3's: 94, for four messages); the dry run
// costs about as much as the render itself.
import { Environment, Interpreter, Template } from '@huggingface/jinja';

/** Per render. Listed in docs/limits.md. */
export const TEMPLATE_LIMITS = {
  /** Expressions and statements evaluated (every loop iteration costs at least one; 5-15 µs each here). */
  steps: 50_000,
  /** Numbers all range() calls together may produce (checked before the list is made). */
  rangeNumbers: 100_000,
  /** Characters of any string, the output included (prompts are bounded by the context far below). */
  stringChars: 8 * 1024 * 1024,
} as const;

/** The chat template asks for more work than any real template needs. */
export class TemplateBudgetError extends Error {
  override name = 'TemplateBudgetError';
}

function overBudget(what: string): TemplateBudgetError {
  return new TemplateBudgetError(`the model's chat template ${what} in one prompt: a broken or hostile template (see docs/limits.md); use a model with a standard chat template.`);
}

type Evaluate = Interpreter['evaluate'];

/** An interpreter that refuses to run past the limits. */
class BudgetedInterpreter extends Interpreter {
  private steps = 0;

  override evaluate(...args: Parameters<Evaluate>): ReturnType<Evaluate> {
    if (++this.steps > TEMPLATE_LIMITS.steps) throw overBudget(`takes more than ${TEMPLATE_LIMITS.steps} steps`);
    const result = super.evaluate(...args);
    const value: unknown = result?.value;
    if (typeof value === 'string' && value.length > TEMPLATE_LIMITS.stringChars) throw overBudget(`makes a string of more than ${TEMPLATE_LIMITS.stringChars} characters`);
    return result;
  }
}

/** Jinja's range(), counting against one render's budget before anything is allocated. */
function budgetedRange(): (start: number, stop?: number, step?: number) => number[] {
  let left: number = TEMPLATE_LIMITS.rangeNumbers;
  return (start, stop, step = 1) => {
    if (stop === undefined) [start, stop] = [0, start];
    if (step === 0) throw new Error('range() step must not be zero');
    const length = Math.max(0, Math.ceil((stop - start) / step));
    if (!Number.isFinite(length) || length > left) throw overBudget(`loops more than ${TEMPLATE_LIMITS.rangeNumbers} times (range(${start}, ${stop}, ${step}))`);
    left -= length;
    return Array.from({ length }, (_, i) => start + i * step);
  };
}

/** Parsed templates by source: a model has one or two, parsing is most of a dry run's cost. */
const parsed = new Map<string, Template>();

function parse(source: string): Template | null {
  let template = parsed.get(source);
  if (!template) {
    try {
      template = new Template(source);
    } catch {
      return null; // a syntax error is reported by the real render
    }
    if (parsed.size >= 16) parsed.clear();
    parsed.set(source, template);
  }
  return template;
}

/**
 * Dry-runs `source` with `variables` (what the real render gets) and throws TemplateBudgetError if it
 * goes past TEMPLATE_LIMITS. Any other failure is left to the real render, which reports it as usual.
 */
export function checkTemplateBudget(source: string, variables: Record<string, unknown>): void {
  const template = parse(source);
  if (!template) return;
  const env = new Environment();
  // The interpreter's globals (as Template.render sets them), with a bounded range().
  const globals: Record<string, unknown> = {
    false: false, true: true, none: null, False: false, True: true, None: null,
    raise_exception: (message: unknown) => { throw new Error(String(message)); },
    range: budgetedRange(),
    strftime_now: () => new Date().toISOString().slice(0, 10),
  };
  try {
    for (const [name, value] of Object.entries({ ...globals, ...variables })) env.set(name, value);
    new BudgetedInterpreter(env).run(template.parsed);
  } catch (err) {
    if (err instanceof TemplateBudgetError) throw err;
    // Template errors (raise_exception for a system turn, unknown filters) are the real render's to report.
  }
}

const SPECIAL_TOKENS = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'];

/**
 * checkTemplateBudget for what a transformers.js tokenizer's apply_chat_template would render: its
 * template (a string, or the 'default' of named ones), the special tokens of its config, the messages
 * and the options passed on to the template.
 */
export function checkChatTemplate(tokenizer: { chat_template?: unknown; config?: unknown }, messages: unknown[], options: Record<string, unknown>): void {
  const named = tokenizer.chat_template;
  const source = typeof named === 'string' ? named : (named as Record<string, unknown> | null | undefined)?.default;
  if (typeof source !== 'string') return;
  const config = (typeof tokenizer.config === 'object' && tokenizer.config !== null ? tokenizer.config : {}) as Record<string, unknown>;
  const special: Record<string, unknown> = {};
  for (const key of SPECIAL_TOKENS) {
    const token = config[key];
    if (typeof token === 'string' && token) special[key] = token;
    else if (typeof token === 'object' && token !== null && typeof (token as { content?: unknown }).content === 'string') special[key] = (token as { content: string }).content;
  }
  const { tokenize: _tokenize, ...passed } = options;
  checkTemplateBudget(source, { messages, add_generation_prompt: false, tools: null, documents: null, ...special, ...passed });
}
