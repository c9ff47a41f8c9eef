// The embedded default refiner (recipes/default-model): a tiny demo model shipped in the package so
// that the extension and the CLI do something useful offline before any model is configured.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const DEFAULT_MODEL_PATH = join('assets', 'default-model');
export const DEFAULT_MODEL_LABEL = 'built-in tiny demo model';
/** What the UI suggests instead: small, instruction-tuned, on the hub. */
export const SUGGESTED_MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';

/**
 * The embedded model's folder, found from the running code upward: src/models under tsx, out/
 * when bundled (CLI, extension, workers), the extension's install folder when packaged.
 */
export function defaultModelDir(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, DEFAULT_MODEL_PATH);
    if (existsSync(join(candidate, 'config.json'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`The ${DEFAULT_MODEL_LABEL} is missing from this installation (no ${DEFAULT_MODEL_PATH} above ${from}); configure a model instead, e.g. ${SUGGESTED_MODEL}.`);
  }
}
