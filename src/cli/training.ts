// `slhf train` and `slhf eval`: SLHF fine-tuning of the Follower on the store's decisions, and
// held-out evaluation (the versions they make: src/cli/adapters.ts).
import { resolve } from 'node:path';
import { choiceOption, numberOption, optionalString, requireString, UsageError, type CliIO, type Command, type ParsedArgs } from './command';
import { openCheckpoint } from '../models/checkpoint';
import { loadDecoderWeights } from '../models/export';
import { initLoraAdapter } from '../models/lora';
import { DEVICES, type Device } from '../onnx/runtime';
import { loraFeeds } from '../models/graphs';
import { loadPeftAdapter } from '../models/peft';
import { seededRandom } from '../base/seeded-random';
import { ModelSpecError, resolveModelSpec } from '../models/spec';
import { followerSuffixIds, trainingTokenizer } from '../models/tokenizer';
import { sampleSummary, sampleTokens, trainingSamples, type TrainingSample } from '../store/game-tokens';
import { createLogger } from '../store/logger';
import { PreferenceStore } from '../store/store';
import { notActivatedMessage, notActivatedReason } from '../training/activation';
import { splitPairs, type FollowerReference } from '../training/data';
import { evaluateSamples } from '../training/evaluate';
import { JUDGE_NAMES } from '../training/judges';
import { KL_ESTIMATORS, type KlEstimator } from '../training/objective';
import { Policy } from '../training/policy';
import { startTraining } from '../training/process';
import type { WorkerMessage } from '../training/protocol';
import { Sampler } from '../training/sampler';
import { DEFAULT_TRAIN_SETTINGS, type TrainSettings } from '../training/settings';
import { zeroAdapter } from '../training/trainer';
import { activeAdapterDir } from '../training/versions';

const HELD_OUT = 0.2;
/**
 * Samples longer than this many tokens are left out of training and evaluation (--max-length): a
 * step's memory grows with the square of its longest sequence, and one long accepted text (a whole
 * document refined in pieces) would otherwise stop every run at the memory cap.
 */
const MAX_LENGTH = 2048;
/** A run asked to stop (Ctrl+C) that has not ended this long after is killed (issue 18: Cancel within 2 s). */
const CANCEL_GRACE_MS = 2000;

/** A metric for the terminal; 'n/a' where there was nothing to measure (no decision held out). */
const fixed = (value: number | null, digits: number): string => (value === null || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits));

/** A model folder, or a hub id downloaded first (Ctrl+C stops the download; its partial file resumes next time). */
async function model(spec: string, flag: string, signal?: AbortSignal): Promise<string> {
  try {
    return await resolveModelSpec(spec, { signal });
  } catch (err) {
    if (err instanceof ModelSpecError) throw new UsageError(`--${flag}: ${err.message}`);
    throw err;
  }
}

/**
 * The game samples of the store's decisions, tokenized for `modelDir`; decisions (records) are split
 * into train and held-out by id, so all samples of one decision fall on the same side.
 */
async function storeSamples(args: ParsedArgs, command: Command, io: CliIO, modelDir: string, seed: number, game: { leader: boolean; followerReference: FollowerReference }) {
  const logger = createLogger({ level: 'warn', sink: (lvl, m) => io.stderr(`slhf ${command.name}: ${lvl}: ${m}\n`) });
  const store = await PreferenceStore.open(requireString(args, 'store', command), { logger });
  const records = await store.records();
  const { tokenizer, endOfTurn, eos } = await trainingTokenizer(modelDir);
  const split = splitPairs(records, numberOption(args, 'held-out', HELD_OUT, { min: 0, max: 0.9 }), seed);
  const maxLength = numberOption(args, 'max-length', MAX_LENGTH, { min: 1, integer: true });
  const long = new Set<string>();
  const samples = (part: typeof records) => trainingSamples(part, tokenizer, { ...game, endOfTurn }).filter((x) => {
    if (sampleTokens(x) <= maxLength) return true;
    long.add(x.record);
    return false;
  });
  let [train, heldOut] = [samples(split.train), samples(split.heldOut)];
  if (long.size > 0) {
    io.stderr(`slhf ${command.name}: left out the samples of ${long.size} decision(s) longer than ${maxLength} tokens (prompt and text; --max-length raises the limit, and training memory with it).\n`);
    if (train.length + heldOut.length === 0) throw new UsageError(`every decision in the store is longer than ${maxLength} tokens; nothing to train on (--max-length raises the limit).`);
  }
  // Every decision landed in the held-out part (a first decision does one time in five): train on
  // them rather than refuse, with nothing held out (so the version is saved, not activated).
  if (train.length === 0) [train, heldOut] = [heldOut, []];
  const decided = (part: TrainingSample[]) => new Set(part.map((x) => x.record)).size;
  return { train, heldOut, records: { train: decided(train), heldOut: decided(heldOut) }, tokenizer, eos };
}

const commonOptions = {
  store: { type: 'string' as const }, follower: { type: 'string' as const }, seed: { type: 'string' as const }, 'held-out': { type: 'string' as const },
  'max-length': { type: 'string' as const },
};

function settingsFrom(args: ParsedArgs, trainLeader: boolean): Partial<TrainSettings> {
  const d = DEFAULT_TRAIN_SETTINGS;
  const kl = choiceOption<KlEstimator>(args, 'kl', KL_ESTIMATORS, '|') ?? d.kl;
  const steps = args.values.steps === undefined ? null : numberOption(args, 'steps', 1, { min: 1, integer: true });
  const rank = numberOption(args, 'lora-r', d.lora.rank, { min: 1, integer: true });
  return {
    steps, trainLeader, kl,
    epochs: numberOption(args, 'epochs', d.epochs, { min: 1, integer: true }),
    lr: numberOption(args, 'lr', d.lr, { min: 1e-12 }),
    beta: numberOption(args, 'beta', d.beta, { min: 0 }),
    followerWeight: numberOption(args, 'follower-weight', d.followerWeight, { min: 1e-9 }),
    leaderEvery: numberOption(args, 'leader-every', d.leaderEvery, { min: 1, integer: true }),
    followerBeta: numberOption(args, 'follower-beta', undefined, { min: 0 }) ?? d.followerBeta,
    rloo: !args.values['no-rloo'],
    eosPenalty: numberOption(args, 'eos-penalty', d.eosPenalty, { min: 0 }),
    separateAdapters: Boolean(args.values['separate-adapters']),
    draftsPerPrompt: numberOption(args, 'drafts-per-prompt', d.draftsPerPrompt, { min: 1, integer: true }),
    refinementsPerDraft: numberOption(args, 'refinements-per-draft', d.refinementsPerDraft, { min: 1, integer: true }),
    batchSize: numberOption(args, 'batch-size', d.batchSize, { min: 1, integer: true }),
    seed: numberOption(args, 'seed', d.seed, { integer: true }),
    followerReference: args.values['leader-free-kl'] ? 'leader-free' : 'standard',
    lora: { ...d.lora, rank, alpha: numberOption(args, 'lora-alpha', 2 * rank, { min: 1e-9 }) },
    device: choiceOption<Device>(args, 'device', DEVICES, '|') ?? 'cpu',
  };
}

function describe(m: WorkerMessage): string | null {
  switch (m.type) {
    case 'started': return `training on ${m.samples} game samples (${m.heldOut} held out)`;
    case 'winrate': return `judge's Follower win rate ${m.phase}: ${m.value.toFixed(3)}`;
    case 'eval': return m.result.samples === 0
      ? `held-out accuracy ${m.phase}: n/a (no decision held out)`
      : `held-out accuracy ${m.phase}: ${fixed(m.result.accuracy, 3)} on ${m.result.samples} samples (KL to base ${fixed(m.result.kl, 4)})`;
    case 'progress': {
      const p = m.progress;
      return `step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)} kl ${p.kl.toFixed(4)} score ${p.followerScore.toFixed(2)} lr ${p.lr.toExponential(1)} ${p.tokensPerSecond.toFixed(0)} tok/s eta ${p.etaSeconds.toFixed(0)} s${p.skipped ? ` (${p.skipped})` : ''}`;
    }
    default: return null;
  }
}

const trainCommand: Command = {
  name: 'train',
  summary: 'fine-tune the Follower (LoRA) with SLHF on the store\'s decisions; activates a new adapter version',
  usage: [
    'Usage: slhf train --store PATH --follower SPEC --out DIR [--leader SPEC] [--mode offline|online] [--judge NAME]',
    '         [--steps N] [--epochs N] [--lr X] [--beta X] [--follower-weight X] [--kl k1|k2|k3]',
    '         [--lora-r N] [--lora-alpha N] [--seed N] [--held-out F] [--max-length N] [--batch-size N] [--leader-every K]',
    '         [--leader-free-kl] [--max-new-tokens N] [--device DEVICE] [--json-progress] [--dry-run [--json]]',
    '         [--follower-beta X] [--no-rloo] [--eos-penalty X] [--separate-adapters] [--temperature T]',
    '         [--drafts-per-prompt N] [--refinements-per-draft N] [--no-activate]',
    '',
    'Runs in a separate process. Versions go to DIR/adapters/vNNNN (PEFT files + meta.json); DIR/active.json',
    'switches to the new version only after a successful run. --leader equal to --follower (or "same")',
    'trains the Leader too, sharing the adapter (the paper\'s default); another Leader is frozen.',
    'Offline (default) trains on the logged decisions; online samples fresh drafts and refinements for the',
    'store\'s contexts and scores them with a programmatic judge (--judge shorter|longer|harper; harper: Harper\'s lints, src/training/harper.ts).',
    '--json-progress prints every progress message as one JSON line on stdout.',
    '--no-activate saves the new version without activating it (the editor offers it with its evaluation).',
    `--max-length N (default ${MAX_LENGTH}) leaves out samples longer than N tokens (prompt and text), saying how many.`,
    '--dry-run trains nothing (no --out needed): it prints the game samples the store\'s decisions make for this',
    'model (held-out ones included; docs/training.md says how decisions map to samples). With --json, one line each:',
    '{"role", "record", "prompt" (as rendered for the model), "completion", "score" (Follower 1-p, Leader p), "behaviour", "tokens"}.',
    `Estimator (docs/training.md): --beta (default ${DEFAULT_TRAIN_SETTINGS.beta}) weighs the KL penalty, --follower-beta the`,
    'Follower\'s (default: --beta). Samples of one context get the leave-one-out (RLOO) baseline, the mean score',
    'of the others; a sample alone in its context gets 0.5 (--no-rloo: always 0.5). --eos-penalty X (default 0)',
    'subtracts X from the score of a completion that never ends. --leader-every K > 1 alternates: every K-th',
    'step trains the Leader alone, the others the Follower alone.',
    `--follower-weight (default ${DEFAULT_TRAIN_SETTINGS.followerWeight}) multiplies the Follower's loss when Leader and Follower share the adapter`,
    '(with a frozen Leader that is a pure scale, which Adam cancels); --separate-adapters (with --leader same) gives',
    'the Leader its own adapter (saved in leader/) and multiplies the Follower\'s learning rate by the weight instead.',
    'Log-probs are taken at the temperature each sample was drawn at. Online: --temperature T (default 0.9)',
    `samples --drafts-per-prompt (default ${DEFAULT_TRAIN_SETTINGS.draftsPerPrompt}) drafts per context and --refinements-per-draft (default ${DEFAULT_TRAIN_SETTINGS.refinementsPerDraft})`,
    'refinements per draft each step.',
    `--device: ${DEVICES.join(', ')} (default cpu); a provider that cannot start falls back to the CPU with a note.`,
  ].join('\n'),
  options: {
    ...commonOptions, out: { type: 'string' }, leader: { type: 'string' }, mode: { type: 'string' }, judge: { type: 'string' },
    steps: { type: 'string' }, epochs: { type: 'string' }, lr: { type: 'string' }, beta: { type: 'string' }, 'follower-weight': { type: 'string' },
    kl: { type: 'string' }, 'lora-r': { type: 'string' }, 'lora-alpha': { type: 'string' }, 'batch-size': { type: 'string' },
    'leader-every': { type: 'string' }, 'leader-free-kl': { type: 'boolean' }, 'json-progress': { type: 'boolean' }, 'no-activate': { type: 'boolean' }, 'max-new-tokens': { type: 'string' },
    'dry-run': { type: 'boolean' }, json: { type: 'boolean' },
    device: { type: 'string' }, 'follower-beta': { type: 'string' }, 'no-rloo': { type: 'boolean' }, 'eos-penalty': { type: 'string' },
    'separate-adapters': { type: 'boolean' }, temperature: { type: 'string' }, 'drafts-per-prompt': { type: 'string' }, 'refinements-per-draft': { type: 'string' },
  },
  async run(args, io) {
    const mode = optionalString(args, 'mode') ?? 'offline';
    if (mode !== 'offline' && mode !== 'online') throw new UsageError(`--mode must be offline or online, got ${JSON.stringify(mode)}.`);
    const judge = (mode === 'online' ? choiceOption(args, 'judge', JUDGE_NAMES, '|') : optionalString(args, 'judge')) ?? 'shorter';
    const followerDir = await model(requireString(args, 'follower', this), 'follower', io.signal);
    const dryRun = Boolean(args.values['dry-run']);
    const out = dryRun ? '' : resolve(requireString(args, 'out', this));
    const leader = optionalString(args, 'leader');
    const trainLeader = leader !== undefined && (leader === 'same' || resolve(await model(leader, 'leader', io.signal)) === resolve(followerDir));
    if (leader && !trainLeader) io.stderr('slhf train: the Leader is a different model; it stays frozen and only the Follower trains.\n');
    const settings = settingsFrom(args, trainLeader);
    // With the Leader frozen the weight only scales the whole loss, which Adam cancels; say so rather than let it look tuned.
    if (!trainLeader && (args.values['follower-weight'] !== undefined || args.values['separate-adapters'])) {
      io.stderr('slhf train: --follower-weight and --separate-adapters have no effect while the Leader is frozen (train it with --leader same).\n');
    }
    const game = { leader: trainLeader, followerReference: settings.followerReference ?? 'standard' };
    const { train, heldOut, records, tokenizer, eos } = await storeSamples(args, this, io, followerDir, settings.seed ?? 0, game);
    if (dryRun) {
      for (const sample of [...train, ...heldOut].map(sampleSummary)) {
        io.stdout(args.values.json ? JSON.stringify(sample) + '\n' : `${sample.role} ${sample.record} score ${sample.score}${sample.behaviour ? ' (behaviour log-probs)' : ''}: ${JSON.stringify(sample.completion)}\n`);
      }
      return 0;
    }
    if (train.length === 0) throw new UsageError('the store has no decisions to train on yet (accept or reject a few refinements first).');
    if (heldOut.length === 0) io.stderr(`slhf train: no decision is held out (${records.train} decisions); held-out accuracy will be n/a${mode === 'online' ? '' : ', and the new version will be saved but not activated'}.\n`);
    // Online: the store's contexts are the prompts; fresh samples replace the logged ones.
    const online = mode === 'online'
      ? {
        prompts: [...new Map(train.map((x) => [x.context.join(','), x.context])).values()],
        followerSuffix: followerSuffixIds(tokenizer), judge, eos,
        maxNewTokens: numberOption(args, 'max-new-tokens', 64, { min: 1, integer: true }),
        temperature: numberOption(args, 'temperature', 0.9, { min: 1e-3 }),
      }
      : undefined;
    const json = Boolean(args.values['json-progress']);
    const run = startTraining({ modelDir: followerDir, outRoot: out, samples: train, heldOut, records, settings, online, baseModel: requireString(args, 'follower', this), activate: !args.values['no-activate'] }, (m) => {
      if (json) io.stdout(JSON.stringify(m) + '\n');
      else {
        const line = describe(m);
        if (line) io.stderr(line + '\n');
      }
    });
    // Ctrl+C: the worker stops before its next step, save or activation; one that does not within the grace is killed.
    const stop = () => run.cancel(CANCEL_GRACE_MS);
    if (io.signal?.aborted) stop();
    io.signal?.addEventListener('abort', stop, { once: true });
    const outcome = await run.result;
    io.signal?.removeEventListener('abort', stop);
    if (!outcome.ok) {
      io.stderr(`slhf train: ${outcome.kind}: ${outcome.message}${outcome.kind === 'cancelled' || io.signal?.aborted ? '; the active version is unchanged' : ''}\n`);
      return 1;
    }
    const notActivated = notActivatedReason(outcome.meta);
    if (notActivated) {
      // The editor reads --json-progress: it gets the reason as a message of its own.
      if (json) io.stdout(JSON.stringify({ type: 'not-activated', version: outcome.version, reason: notActivated }) + '\n');
      else io.stdout(`${notActivatedMessage(outcome.version, out, notActivated)}\n`);
    } else if (!json) io.stdout(`${args.values['no-activate'] ? 'saved (--no-activate)' : 'activated'} ${outcome.version} in ${out} (held-out accuracy ${fixed(outcome.meta.metrics.heldOutAccuracy ?? null, 3)})\n`);
    return 0;
  },
};

const evalCommand: Command = {
  name: 'eval',
  summary: 'held-out preference accuracy of a Follower adapter against its base model',
  usage: [
    'Usage: slhf eval --store PATH --follower SPEC [--lora DIR | --out DIR] [--seed N] [--held-out F] [--max-length N] [--samples N] [--json]',
    '',
    'Accuracy: how often log p(y\') - log p_base(y\') has the sign of (score - 0.5) over the held-out Follower samples',
    '(the split slhf train uses for the same --seed and --held-out; ties count one half): refinements the user',
    'preferred should gain probability, those the user turned down should lose it.',
    '--lora is a PEFT adapter folder; --out uses the active version of a training folder. Without either,',
    'the base model is evaluated (accuracy 0.5: every margin is zero). --samples N also shows N refinements of',
    'held-out drafts sampled by the base model and by the adapter (same seed).',
  ].join('\n'),
  options: { ...commonOptions, lora: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' }, samples: { type: 'string' } },
  async run(args, io) {
    const followerDir = await model(requireString(args, 'follower', this), 'follower', io.signal);
    const seed = numberOption(args, 'seed', DEFAULT_TRAIN_SETTINGS.seed, { integer: true });
    const { heldOut, tokenizer, eos } = await storeSamples(args, this, io, followerDir, seed, { leader: false, followerReference: 'standard' });
    const loraDir = optionalString(args, 'lora') ?? (optionalString(args, 'out') ? activeAdapterDir(resolve(optionalString(args, 'out')!)) : null);
    const examples = numberOption(args, 'samples', 0, { min: 0, max: 50, integer: true });
    const { result, refinements } = await evaluate(followerDir, loraDir, heldOut, { count: examples, eos, seed });
    const decoded = refinements.map((r) => ({ before: tokenizer.decode(r.before, { skip_special_tokens: true }), after: tokenizer.decode(r.after, { skip_special_tokens: true }) }));
    const summary = { ...result, adapter: loraDir, split: 'held-out', ...(examples ? { refinements: decoded } : {}) };
    if (args.values.json) io.stdout(JSON.stringify(summary) + '\n');
    else {
      io.stdout(result.samples === 0
        ? 'accuracy n/a: no decision is held out (more decisions, or a larger --held-out, hold some out)\n'
        : `accuracy ${fixed(result.accuracy, 3)} on ${result.samples} held-out samples, KL to base ${fixed(result.kl, 4)}\n`);
      decoded.forEach((r, i) => io.stdout(`\n[${i + 1}] base:    ${JSON.stringify(r.before)}\n    trained: ${JSON.stringify(r.after)}\n`));
    }
    return 0;
  },
};

/** Held-out metrics, and `count` refinements sampled with the base model and with the adapter (same seed). */
async function evaluate(modelDir: string, loraDir: string | null, samples: TrainingSample[], examples: { count: number; eos: number[]; seed: number }) {
  const checkpoint = await openCheckpoint(modelDir, { requireTokenizer: false });
  try {
    const adapter = loraDir ? await loadPeftAdapter(loraDir, checkpoint.config) : initLoraAdapter(checkpoint.config, DEFAULT_TRAIN_SETTINGS.lora, 0);
    const lora = { ...adapter.config, dropout: 0 };
    const weights = await loadDecoderWeights(checkpoint);
    const policy = await Policy.create(checkpoint.config, weights, { lora });
    const base = zeroAdapter(adapter);
    try {
      const result = await evaluateSamples(policy, samples, policy.adapterFeeds(adapter), policy.adapterFeeds(base));
      const refinements: { before: number[]; after: number[] }[] = [];
      if (examples.count > 0 && samples.length > 0) {
        const sampler = await Sampler.create(checkpoint.config, weights, lora);
        const prompts = [...new Map(samples.map((x) => [x.group, x.prompt])).values()].slice(0, examples.count);
        const settings = { maxNewTokens: 64, temperature: 0.9, eos: examples.eos };
        const before = await sampler.sample(prompts, loraFeeds(base), settings, seededRandom(examples.seed));
        const after = await sampler.sample(prompts, loraFeeds(adapter), settings, seededRandom(examples.seed));
        await sampler.release();
        prompts.forEach((_, i) => refinements.push({ before: before[i].ids, after: after[i].ids }));
      }
      return { result, refinements };
    } finally {
      await policy.release();
    }
  } finally {
    await checkpoint.close();
  }
}

/** The `slhf` subcommands of src/training. */
export const trainingCommands: Command[] = [trainCommand, evalCommand];
