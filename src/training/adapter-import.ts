// Registers a LoRA adapter trained elsewhere (TRL, the authors' StackelbergGDA trainer, any PEFT
// writer) as a new version, after checking that it fits the base model: PEFT options we implement,
// the base model it names, every tensor's name and shape, finite weights. The version is written by
// saveVersion (under the folder's lock), so it lists and activates like a trained one.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { identityFromConfig } from '../models/base-identity';
import type { DecoderConfig } from '../models/config';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, baseModelName, checkFiniteAdapter, loadPeftAdapter, PeftAdapterError, readPeftAdapterConfigJson } from '../models/peft';
import { saveVersion, type ImportedProvenance, type VersionMeta } from './versions';

export interface ImportBase {
  /** The base model as the user names it (--follower SPEC, slhf.follower.model); recorded as the version's baseModel. */
  spec: string;
  config: DecoderConfig;
  /** Names this base is known by (see baseModelName): the adapter's base_model_name_or_path must reduce to one of them. */
  names: string[];
}

export interface AdapterImportOptions {
  /** Skip the base model name check (same weights under another name); shapes are still checked. */
  anyBaseName?: boolean;
  /** The adapter drives the Leader's drafts too (one shared adapter, StackelbergGDA's default). */
  leader?: boolean;
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function checkBaseName(declared: unknown, base: ImportBase, configPath: string): void {
  if (typeof declared !== 'string' || declared.trim() === '') {
    throw new PeftAdapterError(`${configPath} names no base_model_name_or_path, so it cannot be checked against ${base.spec}. ` +
      'If you know it was trained on that model, import it with --any-base-name (tensor names and shapes are still checked).');
  }
  const names = [...new Set(base.names.map(baseModelName))];
  if (!names.includes(baseModelName(declared))) {
    throw new PeftAdapterError(`${configPath}: the adapter was trained on ${JSON.stringify(declared)}, but the base model here is ${base.spec} ` +
      `(known as ${names.join(', ')}). Import it for that model (--follower ${declared}), or, if both are the same weights under ` +
      'another name (e.g. unsloth/ and Qwen/ copies), pass --any-base-name; tensor names and shapes are still checked.');
  }
}

/** Validates the PEFT folder `peftDir` against `base` and saves it as the next version of `root` (not activated). */
export async function importAdapterVersion(root: string, peftDir: string, base: ImportBase, options: AdapterImportOptions = {}): Promise<{ version: string; meta: Omit<VersionMeta, 'version' | 'createdAt'> }> {
  const source = resolve(peftDir);
  const configPath = join(source, ADAPTER_CONFIG);
  const raw = readPeftAdapterConfigJson(source) as Record<string, unknown>;
  // Options and tensors first: they say more about a wrong folder than its base model's name does.
  const adapter = await loadPeftAdapter(source, base.config);
  if (!options.anyBaseName) checkBaseName(raw.base_model_name_or_path, base, configPath);
  checkFiniteAdapter(adapter, join(source, ADAPTER_WEIGHTS));
  const imported: ImportedProvenance = {
    source,
    baseModel: typeof raw.base_model_name_or_path === 'string' ? raw.base_model_name_or_path : null,
    rank: adapter.config.rank,
    alpha: adapter.config.alpha,
    targetModules: Array.isArray(raw.target_modules) ? (raw.target_modules as string[]) : [String(raw.target_modules)],
    peftVersion: typeof raw.peft_version === 'string' ? raw.peft_version : null,
    weightsSha256: await sha256(join(source, ADAPTER_WEIGHTS)),
  };
  const meta = {
    baseModel: base.spec,
    base: identityFromConfig(base.spec, base.config),
    data: { trainPairs: 0, heldOutPairs: 0, samples: 0 },
    metrics: { heldOutAccuracy: null },
    settings: { trainLeader: options.leader === true, lora: adapter.config },
    imported,
  };
  return { version: await saveVersion(root, adapter, meta), meta };
}
