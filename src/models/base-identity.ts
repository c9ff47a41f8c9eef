// Which base model an adapter version was made for. A LoRA adapter only means something on the
// weights it was trained on: merged into another checkpoint it either fails with a tensor dump
// (other shapes) or silently steers the wrong model (same shapes). A version records its base's
// identity; the extension applies and offers only versions whose identity matches the model in use.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { parseDecoderConfig, type DecoderConfig } from './config';
import { readModelText } from './model-file';
import { baseModelName } from './peft';

export interface BaseModelIdentity {
  /** The spec as the user named the model (a folder or hub id). Paths move; it is shown, not trusted alone. */
  spec: string;
  /** SHA-256 of the model's config.json as read; null when only the parsed config was at hand (imports). */
  configSha256: string | null;
  /** The architecture and every dimension an adapter's tensor shapes depend on. */
  shape: string;
}

/** The dimensions a LoRA adapter's tensors (and so its fit) depend on. */
export function shapeFingerprint(config: DecoderConfig): string {
  return [
    config.modelType, `layers ${config.numLayers}`, `hidden ${config.hiddenSize}`, `heads ${config.numHeads}/${config.numKvHeads}x${config.headDim}`,
    `ffn ${config.intermediateSize}`, `vocab ${config.vocabSize}`,
  ].join(', ');
}

export function identityFromConfig(spec: string, config: DecoderConfig, configSha256: string | null = null): BaseModelIdentity {
  return { spec: spec.trim(), configSha256, shape: shapeFingerprint(config) };
}

/** The identity of the model in `modelDir` (a Hugging Face checkpoint folder), named `spec`. */
export function baseModelIdentity(spec: string, modelDir: string): BaseModelIdentity {
  const text = readModelText(join(modelDir, 'config.json'));
  const config = parseDecoderConfig(JSON.parse(text));
  return identityFromConfig(spec, config, createHash('sha256').update(text).digest('hex'));
}

/** What a version recorded: `base` on versions made since identities were kept, else only the spec (`baseModel`). */
export interface RecordedBase {
  base?: BaseModelIdentity;
  baseModel: string | null;
}

/**
 * Whether a version made for `recorded` applies to the model `current` (its identity, or only its
 * spec when its folder is not on this machine yet). Content decides when both sides have it: the
 * same config.json is the same model under any path or id (the built-in model's path changes with
 * every extension update); a different shape never is. (Weights are not hashed: they are gigabytes,
 * so a fine-tune that kept its base's config.json counts as that base.) Without config hashes, the same shape and
 * the same model name. A version that recorded only a spec applies to the same model name.
 */
export function sameBaseModel(recorded: RecordedBase, current: BaseModelIdentity | { spec: string }): boolean {
  const base = recorded.base;
  const currentShape = 'shape' in current ? current : null;
  if (base && currentShape) {
    if (base.shape !== currentShape.shape) return false;
    if (base.configSha256 && currentShape.configSha256) return base.configSha256 === currentShape.configSha256;
  }
  const name = base?.spec ?? recorded.baseModel;
  return name !== null && baseModelName(name) === baseModelName(current.spec);
}

/** The base model a version was made for, as a person reads it. */
export function describeBase(recorded: RecordedBase): string {
  return recorded.base?.spec ?? recorded.baseModel ?? 'an unrecorded base model';
}
