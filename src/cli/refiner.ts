// `slhf refine`: the refinement loop from the command line, in process (the extension runs the same
// loop in a worker).
import { homedir } from 'node:os';
import { join } from 'node:path';
import { defaultModelDir, DEFAULT_MODEL_LABEL, SUGGESTED_MODEL } from '../models/default-model';
import { choiceOption, numberOption, optionalString, UsageError, type Command, type ParsedArgs } from './command';
import { DOCUMENT_KINDS, type DocumentKind } from '../base/generation-record';
import { DEVICE_SETTINGS, type DeviceSetting } from '../refiner/device';
import { HARPER_MODEL_ID } from '../refiner/harper-pass';
import { ModelHost } from '../refiner/host';
import { refine } from '../refiner/loop';
import type { SentenceRound } from '../refiner/sentence-round';
import { MAX_NEW_TOKENS, MAX_ROUNDS, RefinerInputError, type GeneratedText } from '../refiner/refiner-settings';
import type { PieceRound } from '../refiner/split-round';

/** Where exported graphs are cached: --cache-dir, $SLHF_CACHE_DIR, else ~/.cache/slhf-refine. */
function cacheDir(args: ParsedArgs): string {
  return optionalString(args, 'cache-dir') ?? process.env.SLHF_CACHE_DIR ?? join(homedir(), '.cache', 'slhf-refine');
}

function defaultFollower(io: { stderr(text: string): void }): string {
  io.stderr(`using the ${DEFAULT_MODEL_LABEL}; pass --follower ${SUGGESTED_MODEL} (or any model) for real work\n`);
  return defaultModelDir();
}

function jsonLine(r: GeneratedText): string {
  return JSON.stringify({
    role: r.role, round: r.round, text: r.text, tokens: r.tokenIds.length, tokenIds: r.tokenIds,
    logprobSum: r.logprobSum, logprobs: r.logprobs, model: r.modelId, adapter: r.adapterVersion,
    sampling: r.sampling, timings: r.timings, stopReason: r.stopReason, fixedPoint: r.fixedPoint,
  }) + '\n';
}

export const refineCommand: Command = {
  name: 'refine',
  summary: 'refine the text on stdin with the Follower model (optionally drafted first by a Leader)',
  usage: [
    'Usage: slhf refine [--follower SPEC] [--leader SPEC --instruction TEXT] [--rounds N] [--seed N]',
    '         [--temperature T] [--top-p P] [--top-k K] [--repetition-penalty R] [--max-new-tokens N]',
    '         [--adapter DIR] [--follower-instruction TEXT] [--context TEXT] [--language ID] [--kind KIND]',
    '         [--device DEVICE] [--cache-dir DIR] [--json] [--no-harper]',
    '',
    'Reads the draft from stdin and prints each round\'s text, the final one last. SPEC is a Hugging Face',
    `model folder, a transformers.js ONNX folder or a hub id; without --follower, the ${DEFAULT_MODEL_LABEL} (it fixes`,
    `typos in short English sentences; for real work use e.g. --follower ${SUGGESTED_MODEL}). With --leader and --instruction the Leader`,
    'drafts first (stdin is not read). Rounds stop early when one returns the text it was given.',
    'With the built-in model, round 1 is Harper\'s fixes (a grammar checker) when it changes anything, and the',
    'model\'s rounds follow; --no-harper leaves that first pass out.',
    '--json prints one line per generated text: {role, round, text, tokens, tokenIds, logprobSum, logprobs,',
    'model, adapter, sampling, timings, stopReason, fixedPoint}; log-probs are at the sampling temperature.',
    `--kind: ${DOCUMENT_KINDS.join(', ')} (default from --language, a VS Code language id; plaintext).`,
    `--device: ${DEVICE_SETTINGS.join(', ')} (default auto: cuda where "slhf gpu install-cuda"`,
    'installed it, else cpu); an unavailable device falls back to cpu.',
    'Sampling options left out take the model\'s generation_config.json (do_sample: false decodes greedily,',
    'as the built-in model asks), else temperature 0.7, top-p 1, top-k 0 (off), repetition penalty 1.',
  ].join('\n'),
  options: {
    follower: { type: 'string' }, leader: { type: 'string' }, instruction: { type: 'string' }, rounds: { type: 'string' },
    seed: { type: 'string' }, temperature: { type: 'string' }, 'top-p': { type: 'string' }, 'top-k': { type: 'string' },
    'repetition-penalty': { type: 'string' }, 'max-new-tokens': { type: 'string' }, adapter: { type: 'string' },
    'follower-instruction': { type: 'string' }, context: { type: 'string' }, language: { type: 'string' },
    kind: { type: 'string' }, device: { type: 'string' }, 'cache-dir': { type: 'string' }, json: { type: 'boolean' },
    'no-harper': { type: 'boolean' },
  },
  async run(args, io) {
    const follower = optionalString(args, 'follower') ?? defaultFollower(io);
    const leader = optionalString(args, 'leader');
    const instruction = optionalString(args, 'instruction');
    if (leader && !instruction) throw new UsageError(`--leader drafts from --instruction; give --instruction too.\n\n${this.usage}`);
    const leaderDraft = Boolean(leader && instruction);
    const settings = {
      seed: args.values.seed === undefined ? null : numberOption(args, 'seed', 0, { integer: true, min: 0, max: 2 ** 32 - 1 }),
      // Unset: what the model's generation_config.json asks for (resolveSettings).
      temperature: numberOption(args, 'temperature', undefined, { min: 0 }),
      topP: numberOption(args, 'top-p', undefined, { min: 0, max: 1 }),
      topK: numberOption(args, 'top-k', undefined, { integer: true, min: 0 }),
      repetitionPenalty: numberOption(args, 'repetition-penalty', undefined, { min: 0 }),
      maxNewTokens: numberOption(args, 'max-new-tokens', 256, { integer: true, min: 1, max: MAX_NEW_TOKENS }),
    };
    const rounds = numberOption(args, 'rounds', 2, { integer: true, min: 1, max: MAX_ROUNDS });
    const draft = leaderDraft ? undefined : await io.stdin();
    if (io.signal?.aborted) return 1; // Ctrl+C before the draft was complete: nothing to refine (exit 130)
    const host = new ModelHost({ cacheDir: cacheDir(args), device: choiceOption<DeviceSetting>(args, 'device', DEVICE_SETTINGS), log: (m) => io.stderr(`${m}\n`) });
    host.configure({ leader: leader ? { spec: leader } : null, follower: { spec: follower, adapter: optionalString(args, 'adapter') ?? null } });
    try {
      const events = refine(host, {
        draft, leaderDraft, instruction, rounds, settings,
        context: optionalString(args, 'context'),
        followerInstruction: optionalString(args, 'follower-instruction'),
        languageId: optionalString(args, 'language'),
        kind: choiceOption<DocumentKind>(args, 'kind', DOCUMENT_KINDS),
        harperFirstPass: !args.values['no-harper'],
      }, io.signal); // Ctrl+C stops within one decoding step
      for await (const event of events) {
        if (event.type === 'round-end') {
          const r = event.result;
          io.stdout(args.values.json ? jsonLine(r) : `--- ${r.role === 'leader' ? 'draft (leader)' : `round ${r.round}${r.modelId === HARPER_MODEL_ID ? ' (Harper)' : ''}`} ---\n${r.text}\n`);
          // Sentence-by-sentence rounds (the built-in model) keep a garbled sentence as written: say which.
          for (const g of 'garbled' in r ? (r as SentenceRound).garbled : []) io.stderr(`round ${r.round}: kept sentence ${g.index + 1} as written; the model garbled it to ${JSON.stringify(g.output)}\n`);
          if ('pieces' in r) io.stderr(`round ${r.round}: the text is longer than the model takes in one prompt; refined in ${(r as PieceRound).pieces.length} pieces\n`);
        } else if (event.type === 'done' && event.stoppedBy === 'fixed-point') {
          io.stderr(`round ${event.rounds.length} returned its input unchanged; stopping early\n`);
        }
        if (event.type === 'done' && event.skipped) io.stderr(`round ${event.skipped.round} was skipped; the rounds before it stand: ${event.skipped.reason}\n`);
      }
      return 0;
    } catch (err) {
      if (err instanceof RefinerInputError) throw new UsageError(err.message);
      throw err;
    } finally {
      await host.unloadAll();
    }
  },
};

/** The `slhf` subcommands of src/refiner. */
export const refinerCommands: Command[] = [refineCommand];
