// A model SPEC as users write it (CLI --model, settings): a local folder or a hub id.
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { downloadModel, HubError, parseRepoId, type HubOptions } from './hub';

export class ModelSpecError extends Error {
  override name = 'ModelSpecError';
}

/** Paths are recognizable by their form even when they do not exist, so a typo is not sent to the hub. */
function looksLikePath(spec: string): boolean {
  return isAbsolute(spec) || /^(\.{1,2}|~)([/\\]|$)/.test(spec) || spec.includes('\\') || spec.split('/').length > 2;
}

/**
 * Returns the local folder for `spec`: an existing folder as is (absolute), otherwise `org/name[@rev]`
 * downloaded to (or, offline, found in) the hub cache.
 */
export async function resolveModelSpec(spec: string, options: HubOptions = {}): Promise<string> {
  const trimmed = spec.trim();
  if (!trimmed) throw new ModelSpecError('No model given: pass a local model folder or a hub id like Qwen/Qwen2.5-0.5B-Instruct.');
  const path = trimmed === '~' || trimmed.startsWith('~/') ? join(homedir(), trimmed.slice(1)) : trimmed;
  if (existsSync(path)) {
    if (!statSync(path).isDirectory()) throw new ModelSpecError(`${path} is a file; a model is a folder with config.json and weights.`);
    return resolve(path);
  }
  if (looksLikePath(trimmed)) throw new ModelSpecError(`No such model folder: ${path}.`);
  // `models/tiny` has a hub id's form; when `models/` exists here it is a folder path with a typo.
  const first = trimmed.split('/')[0];
  if (existsSync(first) && statSync(first).isDirectory()) {
    throw new ModelSpecError(`No such model folder: ${resolve(path)} (${first}/ exists here, so ${JSON.stringify(trimmed)} is read as a path, not a hub id).`);
  }
  try {
    parseRepoId(trimmed);
  } catch {
    throw new ModelSpecError(`${JSON.stringify(trimmed)} is neither an existing folder nor a hub id (org/name or org/name@revision).`);
  }
  try {
    return await downloadModel(trimmed, options);
  } catch (err) {
    // The user may have meant a local folder: say that none exists, beside the hub's answer.
    if (err instanceof HubError && ['not-found', 'unauthorized', 'offline-missing'].includes(err.code)) {
      err.message += ` (no local folder ${resolve(path.split('@')[0])} exists either)`;
    }
    throw err;
  }
}
