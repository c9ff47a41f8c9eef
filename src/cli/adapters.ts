// `slhf adapters`: a training folder's adapter versions (list, activate, roll back), and
// `slhf adapters import`, which brings an adapter trained elsewhere (docs/scale-out.md) in as a version.
import { join, resolve } from 'node:path';
import { optionalString, requireString, UsageError, type CliIO, type Command, type ParsedArgs } from './command';
import { openCheckpoint } from '../models/checkpoint';
import { readModelText } from '../models/model-file';
import { PeftAdapterError } from '../models/peft';
import { ModelSpecError, resolveModelSpec } from '../models/spec';
import { importAdapterVersion } from '../training/adapter-import';
import { activate, listVersions, readActive, readMeta, rollback, type VersionMeta } from '../training/versions';

const USAGE = [
  'Usage: slhf adapters --out DIR [--activate vNNNN|base] [--rollback] [--json]',
  '       slhf adapters import PEFT_DIR --out DIR [--follower SPEC] [--leader] [--any-base-name] [--json]',
  '',
  'DIR is a training folder (slhf train --out; the extension\'s is <VS Code global storage>/slhf-refine.slhf-refine/follower).',
  '',
  'import registers a LoRA adapter trained elsewhere (TRL, PEFT, the StackelbergGDA trainer) as the next version,',
  'after checking it: PEFT options this engine implements (plain LoRA), base_model_name_or_path against the base model,',
  'every tensor\'s name and shape, finite weights. Anything else is refused, naming what does not match. It is not',
  'activated: activate it with --activate vNNNN (or in the SLHF panel); the extension uses it from its next refinement.',
  '  --follower SPEC    the base model (folder or hub id); default: the base model of DIR\'s newest version',
  '  --leader           the adapter also drives the Leader\'s drafts (one shared adapter, StackelbergGDA\'s default)',
  '  --any-base-name    accept another base_model_name_or_path (same weights under another name); shapes are still checked',
].join('\n');

/** The base model to check an import against: --follower, else the one DIR's newest version was made for. */
function baseSpec(args: ParsedArgs, out: string): string {
  const given = optionalString(args, 'follower');
  if (given) return given;
  const newest = listVersions(out).at(-1);
  const recorded = newest ? readMeta(out, newest).baseModel : null;
  if (!recorded) throw new UsageError(`pass --follower SPEC, the base model the adapter was trained on (${out} has no version that names one).\n\n${USAGE}`);
  return recorded;
}

/** Names the base model is known by: its SPEC, its folder, and the `_name_or_path` transformers records in config.json. */
function knownNames(spec: string, dir: string): string[] {
  const names = [spec, dir];
  try {
    const recorded = (JSON.parse(readModelText(join(dir, 'config.json'))) as Record<string, unknown>)._name_or_path;
    if (typeof recorded === 'string' && recorded) names.push(recorded);
  } catch {
    // openCheckpoint reports an unreadable config.json
  }
  return names;
}

async function importCommand(args: ParsedArgs, io: CliIO, peftDir: string): Promise<number> {
  const out = resolve(requireString(args, 'out', adaptersCommand));
  const spec = baseSpec(args, out);
  let modelDir: string;
  try {
    modelDir = await resolveModelSpec(spec);
  } catch (err) {
    if (err instanceof ModelSpecError) throw new UsageError(`--follower: ${err.message}`);
    throw err;
  }
  const checkpoint = await openCheckpoint(modelDir, { requireTokenizer: false });
  let imported: Awaited<ReturnType<typeof importAdapterVersion>>;
  try {
    imported = await importAdapterVersion(out, peftDir, { spec, config: checkpoint.config, names: knownNames(spec, modelDir) }, {
      anyBaseName: Boolean(args.values['any-base-name']), leader: Boolean(args.values.leader),
    });
  } catch (err) {
    if (err instanceof PeftAdapterError) throw new Error(`refused ${peftDir}: ${err.message}`, { cause: err });
    throw err;
  } finally {
    await checkpoint.close();
  }
  const { version, meta } = imported;
  const p = meta.imported!;
  if (args.values.json) io.stdout(JSON.stringify({ version, ...meta }) + '\n');
  else {
    io.stdout(`imported ${p.source} as ${version} in ${out}: LoRA r ${p.rank}, alpha ${p.alpha}, on ${p.targetModules.join(', ')}; trained on ${p.baseModel ?? 'an unnamed base'}, checked against ${spec}\n`);
    io.stdout(`activate it with: slhf adapters --out ${out} --activate ${version} (or in the SLHF panel's Models tab)\n`);
  }
  return 0;
}

const describe = (v: VersionMeta & { active: boolean }): string => {
  const origin = v.imported
    ? `imported from ${v.imported.source} (r ${v.imported.rank}, alpha ${v.imported.alpha}, trained on ${v.imported.baseModel ?? '?'})`
    : `${v.data.trainPairs} pairs  held-out accuracy ${v.metrics.heldOutAccuracy ?? '-'}`;
  return `${v.active ? '*' : ' '} ${v.version}  ${v.createdAt}  ${origin}`;
};

export const adaptersCommand: Command = {
  name: 'adapters',
  summary: 'list the Follower adapter versions of a training folder; activate one, roll back, or import a PEFT adapter',
  usage: USAGE,
  options: {
    out: { type: 'string' }, activate: { type: 'string' }, rollback: { type: 'boolean' }, json: { type: 'boolean' },
    follower: { type: 'string' }, leader: { type: 'boolean' }, 'any-base-name': { type: 'boolean' },
  },
  positionals: true,
  async run(args, io) {
    const [sub, ...rest] = args.positionals;
    if (sub === 'import') {
      if (rest.length !== 1) throw new UsageError(`import takes exactly one PEFT_DIR.\n\n${USAGE}`);
      if (args.values.activate !== undefined || args.values.rollback) throw new UsageError(`import registers a version without activating it; activate it afterwards with --activate vNNNN.\n\n${USAGE}`);
      return importCommand(args, io, rest[0]);
    }
    if (sub !== undefined) throw new UsageError(`unknown subcommand ${JSON.stringify(sub)} (the only one is import).\n\n${USAGE}`);
    const out = resolve(requireString(args, 'out', this));
    const target = optionalString(args, 'activate');
    try {
      if (target) activate(out, target === 'base' ? null : target);
      if (args.values.rollback) rollback(out);
    } catch (err) {
      throw new UsageError((err as Error).message); // main() prefixes 'slhf adapters: '
    }
    const active = readActive(out)?.version ?? null;
    const versions = listVersions(out).map((v) => ({ ...readMeta(out, v), active: v === active }));
    if (args.values.json) io.stdout(JSON.stringify({ active, versions }) + '\n');
    else {
      for (const v of versions) io.stdout(describe(v) + '\n');
      io.stdout(`active: ${active ?? 'base model'}\n`);
    }
    return 0;
  },
};
