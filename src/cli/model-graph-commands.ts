// `slhf export-onnx` and `slhf score`: the decoder graphs from the command line.
import { existsSync, statSync } from 'node:fs';
import { choiceOption, numberOption, optionalString, requireString, UsageError, type CliIO, type Command, type ParsedArgs } from './command';
import { exportOnnx, type ExportOptions } from '../models/export';
import { ModelSpecError, resolveModelSpec } from '../models/spec';
import { openScorer, type Scorer } from '../models/score';

/** SPEC: a local model folder, else a hub id (org/name[@revision]) fetched into the cache. */
async function resolveModel(spec: string, io: CliIO): Promise<string> {
  let lastFile = '';
  try {
    return await resolveModelSpec(spec, {
      signal: io.signal, // Ctrl+C: the partial file stays under its temporary name and resumes next time
      onProgress: (p) => {
        if (p.file !== lastFile) io.stderr(`downloading ${p.file}${p.total ? ` (${(p.total / 1e6).toFixed(1)} MB)` : ''}\n`);
        lastFile = p.file;
      },
    });
  } catch (err) {
    if (err instanceof ModelSpecError) throw new UsageError(`--model: ${err.message}`);
    throw err;
  }
}

function exportOptions(args: ParsedArgs): ExportOptions {
  const quantize = choiceOption(args, 'quantize', ['int4', 'int8', 'none'] as const);
  const options: ExportOptions = {
    lora: optionalString(args, 'lora'),
    graph: choiceOption(args, 'graph', ['plain', 'contrib', 'auto'] as const),
    dtype: choiceOption(args, 'dtype', ['float32', 'float16'] as const),
    quantize: quantize === 'int4' ? { bits: 4 } : quantize === 'int8' ? { bits: 8 } : quantize === 'none' ? null : undefined,
  };
  if (options.quantize && options.dtype === 'float16') throw new UsageError('--quantize applies to float32 weights; drop --dtype float16 or --quantize.');
  return options;
}

export const exportOnnxCommand: Command = {
  name: 'export-onnx',
  summary: 'export a model (optionally with a LoRA adapter merged in) as a transformers.js folder',
  usage: [
    'Usage: slhf export-onnx --model SPEC --out DIR [--lora ADAPTER_DIR] [--graph plain|contrib|auto]',
    '                        [--dtype float32|float16] [--quantize none|int8|int4]',
    '',
    'SPEC is a Hugging Face model folder or hub id. Writes config.json, generation_config.json, the',
    'tokenizer files and onnx/model.onnx (weights in onnx/model.onnx_data), which',
    'AutoModelForCausalLM.from_pretrained in transformers.js loads offline. --lora merges a PEFT adapter',
    '(adapter_config.json + adapter_model.safetensors) into the exported weights.',
    '--graph contrib uses ONNX Runtime\'s fused contrib ops (GroupQueryAttention, RotaryEmbedding,',
    'SkipSimplifiedLayerNormalization; head_dim must be a multiple of 8); plain (default) uses standard ops;',
    'auto picks contrib when the model allows it.',
    '--dtype float16 halves weights and KV cache for GPU providers and writes onnx/model_fp16.onnx',
    '(transformers.js dtype "fp16"). --quantize int8|int4 stores the projections as MatMulNBits blocks',
    '(onnx/model_quantized.onnx, dtype "q8"; onnx/model_q4.onnx, dtype "q4").',
    'With none of --graph, --dtype and --quantize, a model of 50M parameters or more gets the CPU default',
    '(contrib graph where it applies, int8), a smaller one the plain float32 graph.',
  ].join('\n'),
  options: {
    model: { type: 'string' }, out: { type: 'string' }, lora: { type: 'string' },
    graph: { type: 'string' }, dtype: { type: 'string' }, quantize: { type: 'string' },
  },
  async run(args, io) {
    const spec = requireString(args, 'model', this);
    const out = requireString(args, 'out', this);
    const options = exportOptions(args);
    if (existsSync(out) && !statSync(out).isDirectory()) throw new UsageError(`--out ${out} exists and is not a folder.`);
    const started = performance.now();
    const result = await exportOnnx(await resolveModel(spec, io), out, options);
    io.stdout(`wrote ${out} in ${((performance.now() - started) / 1000).toFixed(1)} s (${result.graph} graph, transformers.js dtype ${result.transformersDType}): ${result.files.join(', ')}\n`);
    return 0;
  },
};

/** Prompt ids then completion ids; the completion's tokens are the scored ones. */
async function tokenizeText(scorer: Scorer, prompt: string, completion: string): Promise<{ ids: number[]; from: number }> {
  if (!scorer.tokenizer) throw new UsageError('this model folder has no tokenizer.json; pass --ids and --prompt-len instead.');
  const { Tokenizer } = await import('@huggingface/tokenizers');
  const tokenizer = new Tokenizer(scorer.tokenizer.json, scorer.tokenizer.config);
  // The prompt gets the tokenizer's special tokens (BOS where the model uses one); the completion none,
  // as TRL tokenizes prompt and completion.
  const promptIds = tokenizer.encode(prompt).ids;
  const completionIds = tokenizer.encode(completion, { add_special_tokens: false }).ids;
  if (promptIds.length === 0) throw new UsageError('--prompt tokenizes to nothing; the first scored token needs context.');
  if (completionIds.length === 0) throw new UsageError('--completion tokenizes to nothing.');
  return { ids: [...promptIds, ...completionIds], from: promptIds.length };
}

function parseIds(csv: string): number[] {
  const ids = csv.split(',').map((s) => s.trim());
  const bad = ids.find((s) => !/^\d+$/.test(s));
  if (bad !== undefined) throw new UsageError(`--ids must be comma-separated token ids, got ${JSON.stringify(bad)}.`);
  return ids.map(Number);
}

export const scoreCommand: Command = {
  name: 'score',
  summary: 'per-token log-probs of a completion (or of given token ids) under a model',
  usage: [
    'Usage: slhf score --model SPEC (--prompt TEXT --completion TEXT | --ids CSV --prompt-len N) [--lora DIR] [--json]',
    '',
    'Prints the log-prob of each scored token given everything before it: the completion\'s tokens, or with',
    '--ids the tokens at positions prompt-len and later. --json prints {"tokens", "logprobs", "sum"}.',
    '--lora merges a PEFT adapter into the weights first.',
  ].join('\n'),
  options: {
    model: { type: 'string' }, prompt: { type: 'string' }, completion: { type: 'string' },
    ids: { type: 'string' }, 'prompt-len': { type: 'string' }, lora: { type: 'string' }, json: { type: 'boolean' },
  },
  async run(args, io) {
    const spec = requireString(args, 'model', this);
    const byIds = args.values.ids !== undefined;
    const byText = args.values.prompt !== undefined || args.values.completion !== undefined;
    if (byIds === byText) throw new UsageError(`give either --prompt and --completion, or --ids and --prompt-len.\n\n${this.usage}`);
    let row: { ids: number[]; from: number } | undefined;
    if (byIds) {
      const ids = parseIds(requireString(args, 'ids', this));
      if (args.values['prompt-len'] === undefined) throw new UsageError(`--prompt-len is required with --ids.\n\n${this.usage}`);
      const from = numberOption(args, 'prompt-len', 0, { integer: true, min: 1, max: Math.max(1, ids.length - 1) });
      row = { ids, from };
    } else {
      requireString(args, 'prompt', this);
      requireString(args, 'completion', this);
    }
    const scorer = await openScorer(await resolveModel(spec, io), { lora: optionalString(args, 'lora') });
    try {
      row ??= await tokenizeText(scorer, args.values.prompt as string, args.values.completion as string);
      const [logprobs] = await scorer.score([row]);
      const tokens = row.ids.slice(row.from);
      const sum = logprobs.reduce((a, b) => a + b, 0);
      if (args.values.json) io.stdout(JSON.stringify({ tokens, logprobs, sum }) + '\n');
      else io.stdout(tokens.map((t, i) => `${t}\t${logprobs[i].toFixed(6)}`).join('\n') + `\nsum\t${sum.toFixed(6)}\n`);
      return 0;
    } finally {
      await scorer.release();
    }
  },
};

export const modelGraphCommands: Command[] = [exportOnnxCommand, scoreCommand];
