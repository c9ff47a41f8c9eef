// The refinement loop: an optional Leader draft, then Follower rounds, each refining the previous
// output, until the round count or a fixed point (a round returns the text it was given). Everything
// arrives as one ordered stream of events.
import { randomInt } from 'node:crypto';
import { EventQueue } from './event-queue';
import { generateText, type StepCounters } from './generate';
import type { ModelHost } from './host';
import { checkText } from './limits';
import { harperFirstRound } from './harper-pass';
import { guardWhole, isBuiltInModel, needsSentences, refineBySentence } from './sentence-round';
import { planPieces, refineInPieces } from './split-round';
import type { DocumentKind, PromptParts } from '../base/generation-record';
import { DEFAULT_FOLLOWER_INSTRUCTION } from '../models/prompts';
import { requestPreset } from './preset';
import { MAX_ROUNDS, RefinerInputError, resolveSettings, type GeneratedText, type GenerationSettings, type Role } from './refiner-settings';

export interface RefineRequest {
  /** The Leader's action y: the user's text. Leave out with `leaderDraft` to have the Leader write it. */
  draft?: string;
  leaderDraft?: boolean;
  /** Part of the context x: what the text should be. Required for a Leader draft. */
  instruction?: string;
  /** Surrounding text (part of x). */
  context?: string;
  /** VS Code language id; picks the preset unless `kind` is given. */
  languageId?: string;
  kind?: DocumentKind;
  followerInstruction?: string;
  /** Follower rounds (>= 1). */
  rounds: number;
  settings?: Partial<GenerationSettings>;
  /** Caps the models' context, in tokens. */
  contextLimit?: number;
  /** Harper's fixes as a first round before the built-in model's (harper-pass.ts); unset means on. Other models never get it. */
  harperFirstPass?: boolean;
}

export type RefineEvent =
  | { type: 'round-start'; role: Role; round: number }
  | { type: 'chunk'; role: Role; round: number; text: string }
  | { type: 'round-end'; result: GeneratedText }
  | {
    type: 'done'; draft: string; rounds: GeneratedText[]; stoppedBy: 'rounds' | 'fixed-point' | 'cancelled';
    /** The preset the prompts were built with (chosen once, here: the editor records it with the session). */
    preset: DocumentKind;
    /** A round after the first that could not run (its text is over the model's budget and cannot be split): the rounds before it stand. */
    skipped?: { round: number; reason: string };
  };

/** Each generation gets its own seed from the request's seed, so any round can be replayed alone. */
export function roundSeed(seed: number, round: number): number {
  let h = (seed ^ Math.imul(round + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

async function runLoop(host: ModelHost, request: RefineRequest, signal: AbortSignal, emit: (e: RefineEvent) => void, counters: StepCounters): Promise<void> {
  // Checked before any model loads; each role's model then fills in what the user left unset.
  const seed = resolveSettings(request.settings).seed ?? randomInt(2 ** 32);
  if (!(Number.isInteger(request.rounds) && request.rounds >= 1 && request.rounds <= MAX_ROUNDS)) throw new RefinerInputError(`rounds must be an integer from 1 to ${MAX_ROUNDS}, got ${request.rounds}.`);
  if (request.leaderDraft) {
    if (!request.instruction?.trim()) throw new RefinerInputError('A Leader draft needs an instruction: say what the text should be.');
    checkText(request.instruction, 'The instruction');
  } else checkText(request.draft ?? '', 'The draft');
  if (request.context) checkText(request.context, 'The context');
  const followerInstruction = request.followerInstruction?.trim() || DEFAULT_FOLLOWER_INSTRUCTION;
  const x: PromptParts = {
    preset: requestPreset(request),
    instruction: request.instruction ?? '',
    context: request.context ?? '',
  };
  const rounds: GeneratedText[] = [];
  /** One generation; null when it was cancelled before its model was ready (a load or an export outlives Cancel). */
  const run = async (role: Role, round: number, prompt: PromptParts, original: string): Promise<GeneratedText | null> => {
    emit({ type: 'round-start', role, round });
    let loaded = false;
    const generation = host.use(role, async (model) => {
      loaded = true;
      if (signal.aborted) return null;
      const settings = { ...resolveSettings(request.settings, model.samplingDefaults), seed: roundSeed(seed, round) };
      const onChunk = (text: string) => emit({ type: 'chunk', role, round, text });
      const generate = (p: PromptParts, o: string, s: typeof settings, chunk: (text: string) => void) => generateText(model, {
        role, round, prompt: p, original: o, echo: role === 'follower' ? followerInstruction : undefined,
        settings: s, contextLimit: request.contextLimit, signal, onChunk: chunk,
      }, counters);
      if (role !== 'follower') return generate(prompt, original, settings, onChunk);
      const base = { round, prompt, sampling: { ...settings } };
      if (isBuiltInModel(model.source.modelId)) {
        // The built-in model was trained on single sentences: it refines a longer text one sentence at a time.
        if (!needsSentences(original)) return guardWhole(await generate(prompt, original, settings, onChunk), original);
        return refineBySentence(model, base, original,
          (sentence, i, chunk) => generate({ ...prompt, refined: sentence }, sentence, { ...settings, seed: roundSeed(settings.seed, i) }, chunk), onChunk);
      }
      // A text over the model's budget (context, memory) is refined in pieces that fit.
      const plan = planPieces(model, prompt, original, settings.maxNewTokens, request.contextLimit);
      if (!plan) return generate(prompt, original, settings, onChunk);
      return refineInPieces(model, base, original, plan,
        (p, piece, i, chunk) => generate(p, piece, { ...settings, seed: roundSeed(settings.seed, i) }, chunk), onChunk);
    });
    // Cancel while the model is exported or loaded ends the request now; once it generates, it stops within a step.
    return untilAborted(generation, signal, () => !loaded);
  };
  let current = request.draft ?? '';
  if (request.leaderDraft) {
    const draft = await run('leader', 0, x, request.draft ?? '');
    if (!draft) return emit({ type: 'done', preset: x.preset, draft: '', rounds, stoppedBy: 'cancelled' });
    emit({ type: 'round-end', result: draft });
    if (draft.stopReason === 'cancelled') return emit({ type: 'done', preset: x.preset, draft: draft.text, rounds, stoppedBy: 'cancelled' });
    current = draft.text;
  }
  const draftText = current;
  // The built-in model's first pass: Harper's fixes as round 1 of their own (harper-pass.ts).
  // Only the built-in model, known from its spec, is loaded here: Cancel meanwhile ends the request at once.
  const pass = request.harperFirstPass === false || signal.aborted ? null
    : await untilAborted(harperFirstRound(host, { round: 1, prompt: { ...x, followerInstruction, refined: current }, settings: request.settings, seed: roundSeed(seed, 1) }, current), signal, () => true);
  const first = pass?.round ?? null;
  if (first) {
    emit({ type: 'round-start', role: 'follower', round: 1 });
    emit({ type: 'chunk', role: 'follower', round: 1, text: first.text });
    rounds.push(first);
    emit({ type: 'round-end', result: first });
    current = first.text;
  }
  const offset = first ? 1 : 0;
  for (let round = 1 + offset; round <= request.rounds + offset; round++) {
    if (signal.aborted) return emit({ type: 'done', preset: x.preset, draft: draftText, rounds, stoppedBy: 'cancelled' });
    // Round k refines round k-1's text: its prompt records exactly that.
    let result: GeneratedText | null;
    try {
      result = await run('follower', round, { ...x, followerInstruction, refined: current }, current);
      // With the first pass on, a sentence the model broke (new Harper lints) is put back (harper-pass.ts).
      if (result && pass) result = await pass.guard(current, result);
    } catch (error) {
      // A later round over the budget (round 1 made the text longer) must not lose the rounds before it.
      if (!(error instanceof RefinerInputError) || rounds.length === 0) throw error;
      return emit({ type: 'done', preset: x.preset, draft: draftText, rounds, stoppedBy: 'rounds', skipped: { round, reason: error.message } });
    }
    if (!result) return emit({ type: 'done', preset: x.preset, draft: draftText, rounds, stoppedBy: 'cancelled' });
    result.fixedPoint = result.stopReason !== 'cancelled' && result.text === current;
    rounds.push(result);
    emit({ type: 'round-end', result });
    if (result.stopReason === 'cancelled') return emit({ type: 'done', preset: x.preset, draft: draftText, rounds, stoppedBy: 'cancelled' });
    if (result.fixedPoint) return emit({ type: 'done', preset: x.preset, draft: draftText, rounds, stoppedBy: 'fixed-point' });
    current = result.text;
  }
  emit({ type: 'done', preset: x.preset, draft: draftText, rounds, stoppedBy: 'rounds' });
}

/**
 * `work`'s result, or null when `signal` aborts while `abandonable()` (a model still loading): that
 * work then goes on unobserved (the load finishes and stays cached for the next request).
 */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal, abandonable: () => boolean): Promise<T | null> {
  return new Promise<T | null>((resolve, reject) => {
    const onAbort = () => {
      if (!abandonable()) return;
      work.catch(() => undefined);
      resolve(null);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Refines a draft. Events arrive in order: per generation round-start, its chunks, round-end; then
 * one done. Aborting `signal` (or leaving the loop early) stops within one decoding step.
 */
export async function* refine(host: ModelHost, request: RefineRequest, signal?: AbortSignal, counters: StepCounters = { steps: 0, stepsAfterAbort: 0 }): AsyncGenerator<RefineEvent> {
  const local = new AbortController();
  const onAbort = () => local.abort(signal?.reason);
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const queue = new EventQueue<RefineEvent>();
  const running = runLoop(host, request, local.signal, (e) => queue.push(e), counters).then(() => queue.close(), (err) => queue.close(err));
  try {
    for (;;) {
      const next = await queue.next();
      if (next.done) break;
      yield next.value;
    }
  } finally {
    local.abort(); // the consumer left early: stop generating
    signal?.removeEventListener('abort', onAbort);
    await running;
  }
}
