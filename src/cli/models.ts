import { choiceOption, numberOption, requireString, type Command } from './command';
import { SUPPORTED_MODEL_TYPES, type ModelType } from '../models/config';
import { makeTinyModel } from '../models/tiny-models/tiny-model';
import { FIXTURE_TOKENIZERS, type FixtureTokenizerKind } from '../models/tiny-models/tokenizers';
import { modelGraphCommands } from './model-graph-commands';

const makeTinyModelCommand: Command = {
  name: 'make-tiny-model',
  summary: 'write a random-initialized Hugging Face model folder (tests and benchmarks)',
  usage: [
    'Usage: slhf make-tiny-model --arch llama|qwen2|mistral --tokenizer bytes|qwen3|llama3 --out DIR',
    '         [--seed N] [--layers N --hidden N --heads N --kv-heads N --intermediate N] [--head-dim N]',
    '         [--dtype f32|bf16] [--force]',
    '',
    'Writes config.json, generation_config.json, model.safetensors (random weights, deterministic from',
    '--seed), tokenizer.json and tokenizer_config.json with a chat template. Shapes follow the real family:',
    'qwen2 has q/k/v biases and tied embeddings, llama has Llama 3 rope scaling, mistral is plain.',
    'Defaults: 2 layers, hidden 64, 4 heads, 2 kv heads, intermediate 128.',
    'Qwen2.5-0.5B shape: --arch qwen2 --tokenizer qwen3 --layers 24 --hidden 896 --heads 14 --kv-heads 2 --intermediate 4864',
  ].join('\n'),
  options: {
    arch: { type: 'string' },
    tokenizer: { type: 'string' },
    out: { type: 'string' },
    seed: { type: 'string' },
    layers: { type: 'string' },
    hidden: { type: 'string' },
    heads: { type: 'string' },
    'kv-heads': { type: 'string' },
    intermediate: { type: 'string' },
    'head-dim': { type: 'string' },
    dtype: { type: 'string' },
    force: { type: 'boolean' },
  },
  async run(args, io) {
    requireString(args, 'arch', this);
    requireString(args, 'tokenizer', this);
    const arch = choiceOption<ModelType>(args, 'arch', SUPPORTED_MODEL_TYPES)!;
    const tokenizer = choiceOption<FixtureTokenizerKind>(args, 'tokenizer', FIXTURE_TOKENIZERS)!;
    const out = requireString(args, 'out', this);
    const dtype = choiceOption(args, 'dtype', ['f32', 'bf16'] as const) ?? 'f32';
    const size = (name: string) => (args.values[name] === undefined ? undefined : numberOption(args, name, 0, { integer: true, min: 1, max: 1 << 20 }));
    const started = performance.now();
    const model = await makeTinyModel({
      arch, tokenizer, out, dtype,
      seed: numberOption(args, 'seed', 0, { integer: true, min: 0, max: 2 ** 32 - 1 }),
      layers: size('layers'), hidden: size('hidden'), heads: size('heads'), kvHeads: size('kv-heads'),
      intermediate: size('intermediate'), headDim: size('head-dim'),
      force: args.values.force === true,
    });
    const c = model.config;
    io.stdout(`wrote ${out}: ${arch}, ${c.numLayers} layers, hidden ${c.hiddenSize}, heads ${c.numHeads}/${c.numKvHeads}, ` +
      `vocab ${c.vocabSize}, ${dtype} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    return 0;
  },
};

/** The `slhf` subcommands of src/models. */
export const modelCommands: Command[] = [makeTinyModelCommand, ...modelGraphCommands];
