// The refinement settings as the editor reads them. Two things VS Code does not do for us:
// - the schema's maxima (slhf.refine.rounds, slhf.refine.maxNewTokens) are hints to the Settings UI
//   only; a hand-edited settings.json can hold 1000 rounds, so values are clamped here with a note;
// - slhf.followerInstruction goes into every Follower prompt and from there into stored and trained
//   data, so in an untrusted workspace (a cloned repository's .vscode/settings.json) only the user's
//   own value counts. package.json also lists it under restrictedConfigurations.
import type { RefineRequest } from '../refiner/loop';
import { MAX_NEW_TOKENS, MAX_ROUNDS } from '../refiner/refiner-settings';

/** The part of vscode.WorkspaceConfiguration read here (a plain object in tests). */
export interface SettingsReader {
  get<T>(section: string): T | undefined;
  inspect<T>(section: string): { defaultValue?: T; globalValue?: T } | undefined;
}

/** An integer setting within [1, max]; anything else is replaced (clamped, or the default) with a note saying so. */
export function boundedInteger(name: string, value: unknown, fallback: number, max: number): { value: number; note?: string } {
  if (value === undefined || value === null) return { value: fallback };
  if (typeof value !== 'number' || !Number.isFinite(value)) return { value: fallback, note: `slhf.${name} is ${JSON.stringify(value)}, not a number; using ${fallback}.` };
  const bounded = Math.min(max, Math.max(1, Math.round(value)));
  return bounded === value ? { value } : { value: bounded, note: `slhf.${name} is ${value}; it must be a whole number from 1 to ${max}, so ${bounded} is used.` };
}

export interface GenerationRequest {
  request: Pick<RefineRequest, 'rounds' | 'followerInstruction' | 'settings' | 'harperFirstPass'>;
  /** Settings that were out of range, for a warning. */
  notes: string[];
}

export function readGenerationRequest(config: SettingsReader, trusted: boolean): GenerationRequest {
  const rounds = boundedInteger('refine.rounds', config.get('refine.rounds'), 2, MAX_ROUNDS);
  const maxNewTokens = boundedInteger('refine.maxNewTokens', config.get('refine.maxNewTokens'), 256, MAX_NEW_TOKENS);
  const instruction = trusted ? config.get<string>('followerInstruction') : config.inspect<string>('followerInstruction')?.globalValue;
  return {
    request: {
      rounds: rounds.value,
      followerInstruction: instruction,
      settings: { maxNewTokens: maxNewTokens.value, temperature: config.get<number | null>('refine.temperature') ?? undefined },
      // Harper's first round before the built-in model's (src/refiner/harper-pass.ts); other models ignore it.
      harperFirstPass: config.get<boolean>('refine.harperFirstPass') !== false,
    },
    notes: [rounds.note, maxNewTokens.note].filter((n): n is string => n !== undefined),
  };
}
