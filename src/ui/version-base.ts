// Which trained versions belong to the Follower model in use (src/models/base-identity.ts decides
// what "the same base model" means). The refiner applies the active version only when it does, the
// panel lists only those, and a model switch says which one applies. No vscode import: unit-tested.
import { baseModelIdentity, describeBase, sameBaseModel, type BaseModelIdentity, type RecordedBase } from '../models/base-identity';
import { resolveModelSpec } from '../models/spec';

export { sameBaseModel };

/**
 * The identity of the model `spec` names, read from its folder when it is on this machine (a local
 * folder, or a hub id already downloaded); never downloads. Otherwise only the spec, which is then
 * compared by model name.
 */
export async function currentBase(spec: string): Promise<BaseModelIdentity | { spec: string }> {
  try {
    return baseModelIdentity(spec, await resolveModelSpec(spec, { offline: true }));
  } catch {
    return { spec }; // not downloaded yet, or not a model we can read: the refiner reports that itself
  }
}

export interface VersionFit<M extends RecordedBase> {
  /** Versions made for this base model, in the order given. */
  readonly fitting: { version: string; meta: M }[];
  /** Versions made for other base models: kept, not listed, never applied to this one. */
  readonly other: { version: string; meta: M }[];
}

export function splitByBase<M extends RecordedBase>(versions: { version: string; meta: M }[], current: BaseModelIdentity | { spec: string }): VersionFit<M> {
  const fitting = versions.filter((v) => sameBaseModel(v.meta, current));
  return { fitting, other: versions.filter((v) => !fitting.includes(v)) };
}

/** Why the active version is not applied to `model`. */
export function notAppliedNote(version: string, meta: RecordedBase, model: string): string {
  return `Version ${version} was trained on ${describeBase(meta)}, not on ${model}, so it is not applied: refinements use ${model} untrained.`;
}

/**
 * What applies after the Follower model changed to `model`: the active version when it was made for
 * it, else none (naming the newest version that was, to activate in the panel).
 */
export function switchNote(model: string, active: { version: string; meta: RecordedBase } | null, fit: VersionFit<RecordedBase>): string {
  if (active && fit.fitting.some((v) => v.version === active.version)) return `SLHF: Follower model ${model}: trained version ${active.version} applies.`;
  const newest = fit.fitting.at(-1);
  const why = active ? ` ${active.version} was trained on ${describeBase(active.meta)}.` : '';
  if (newest) return `SLHF: Follower model ${model}: no version is applied (the base model drafts and refines).${why} ${newest.version} was trained on this model; activate it in the SLHF panel.`;
  return `SLHF: Follower model ${model}: no trained version applies (the base model refines).${why}${fit.other.length ? ` The ${fit.other.length} version(s) for other models are kept and apply again when you switch back.` : ''}`;
}
