// The refinement loop: an optional Leader draft, then Follower rounds, each refining the previous
// output, until the round count or a fixed point (a round returns the text it was given). Everything
// arrives as one ordered stream of events.
import { randomInt } from 'node:crypto';
import { EventQueue } from './event-queue';
import { generateText, type StepCounters } from './generate';
import type { ModelHost } from './host';
import { checkText } from './limits';
import { guardWhole, isBuiltInModel, needsSentences, refineBySentence } from './sentence-round';
import type { PromptParts } from '../models/generation-record';
import { DEFAULT_FOLLOWER_INSTRUCTION, presetFor, type DocumentKind } from '../models/prompts';
import { MAX_ROUNDS, RefinerInputError, resolveSettings, type GeneratedText, type GenerationSettings, type Role } from './settings';

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
}

export type RefineEvent =
  | { type: 'round-start'; role: Role; round: number }
  | { type: 'chunk'; role: Role; round: number; text: string }
  | { type: 'round-end'; result: GeneratedText }
  | { type: 'done'; draft: string; rounds: GeneratedText[]; stoppedBy: 'rounds' | 'fixed-point' | 'cancelled' };

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
    preset: presetFor(request.languageId, request.draft ?? '', request.kind).kind,
    instruction: request.instruction ?? '',
    context: request.context ?? '',
  };
  const rounds: GeneratedText[] = [];
  const run = async (role: Role, round: number, prompt: PromptParts, original: string) => {
    emit({ type: 'round-start', role, round });
    const result = await host.use(role, async (model) => {
      const settings = { ...resolveSettings(request.settings, model.samplingDefaults), seed: roundSeed(seed, round) };
      const onChunk = (text: string) => emit({ type: 'chunk', role, round, text });
      const generate = (p: PromptParts, o: string, s: typeof settings, chunk: (text: string) => void) => generateText(model, {
        role, round, prompt: p, original: o, echo: role === 'follower' ? followerInstruction : undefined,
        settings: s, contextLimit: request.contextLimit, signal, onChunk: chunk,
      }, counters);
      if (role !== 'follower' || !isBuiltInModel(model.source.modelId)) return generate(prompt, original, settings, onChunk);
      // The built-in model was trained on single sentences: it refines a longer text one sentence at a time.
      if (!needsSentences(original)) return guardWhole(await generate(prompt, original, settings, onChunk), original);
      return refineBySentence(model, { round, prompt, sampling: { ...settings } }, original,
        (sentence, i, chunk) => generate({ ...prompt, refined: sentence }, sentence, { ...settings, seed: roundSeed(settings.seed, i) }, chunk), onChunk);
    });
    return result;
  };
  let current = request.draft ?? '';
  if (request.leaderDraft) {
    const draft = await run('leader', 0, x, request.draft ?? '');
    emit({ type: 'round-end', result: draft });
    if (draft.stopReason === 'cancelled') return emit({ type: 'done', draft: draft.text, rounds, stoppedBy: 'cancelled' });
    current = draft.text;
  }
  const draftText = current;
  for (let round = 1; round <= request.rounds; round++) {
    if (signal.aborted) return emit({ type: 'done', draft: draftText, rounds, stoppedBy: 'cancelled' });
    // Round k refines round k-1's text: its prompt records exactly that.
    const result = await run('follower', round, { ...x, followerInstruction, refined: current }, current);
    result.fixedPoint = result.stopReason !== 'cancelled' && result.text === current;
    rounds.push(result);
    emit({ type: 'round-end', result });
    if (result.stopReason === 'cancelled') return emit({ type: 'done', draft: draftText, rounds, stoppedBy: 'cancelled' });
    if (result.fixedPoint) return emit({ type: 'done', draft: draftText, rounds, stoppedBy: 'fixed-point' });
    current = result.text;
  }
  emit({ type: 'done', draft: draftText, rounds, stoppedBy: 'rounds' });
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
