import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { writeFileAtomic } from '../base/atomic-file';
import { createInterface } from 'node:readline';
import { requireString, UsageError, type CliIO, type Command, type ParsedArgs } from './command';
import { storeIoError } from '../store/errors';
import { createLogger, type LogLevel } from '../store/logger';
import type { StoreRecord } from '../store/schema';
import { STACKELBERG_PROMPTS_FORMAT, stackelbergPromptRows } from '../store/stackelberg-export';
import { PreferenceStore } from '../store/store';
import { exportRows, ImportParser, TRANSFER_FORMATS, type TransferFormat } from '../store/transfer';

const FORMATS = TRANSFER_FORMATS.join('|');
const EXPORT_FORMATS = `${FORMATS}|${STACKELBERG_PROMPTS_FORMAT}`;
// Import adds records in batches: one lock and one fsync per batch, bounded memory for big datasets.
const IMPORT_BATCH = 5000;
const PROBLEMS_SHOWN = 20;

function format(args: ParsedArgs, command: Command, allowed = FORMATS): TransferFormat {
  const value = requireString(args, 'format', command);
  if (!allowed.split('|').includes(value)) {
    throw new UsageError(`--format must be one of ${allowed}, got ${JSON.stringify(value)}.\n\n${command.usage}`);
  }
  return value as TransferFormat;
}

/** Writes JSONL aside and renames it, so an interrupted export never leaves half a file under `out`. */
function writeJsonl(out: string, rows: unknown[]): void {
  try {
    writeFileAtomic(out, rows.map((r) => JSON.stringify(r) + '\n').join(''));
  } catch (err) {
    throw storeIoError(err, out, 'write the export file', false);
  }
}

/** The contexts (and drafts) for the StackelbergGDA trainer; see src/store/stackelberg-export.ts. */
async function exportPrompts(store: PreferenceStore, out: string, io: CliIO): Promise<number> {
  const { rows, followerInstructions } = stackelbergPromptRows(await store.records());
  writeJsonl(out, rows);
  io.stdout(`exported ${rows.length} prompts (${STACKELBERG_PROMPTS_FORMAT}: prompt_id, prompt, drafts) to ${out}\n`);
  if (followerInstructions.length === 1) io.stdout(`follower instruction used here (pass it as --follower_prompt): ${JSON.stringify(followerInstructions[0])}\n`);
  if (followerInstructions.length > 1) {
    io.stderr(`the sessions used ${followerInstructions.length} follower instructions; the trainer takes one (--follower_prompt): ${followerInstructions.map((i) => JSON.stringify(i)).join(', ')}\n`);
  }
  const unreadable = (await store.unreadableRecords()).length;
  if (unreadable > 0) io.stderr(`${unreadable} record(s) could not be read by this version (written by a newer SLHF Refine?) and are not in this export.\n`);
  return 0;
}

async function openStore(args: ParsedArgs, command: Command, io: CliIO): Promise<PreferenceStore> {
  const level = (process.env.SLHF_LOG_LEVEL as LogLevel | undefined) ?? 'warn';
  const logger = createLogger({ level, sink: (lvl, message) => io.stderr(`slhf ${command.name}: ${lvl}: ${message}\n`) });
  return PreferenceStore.open(requireString(args, 'store', command), { logger });
}

const storeOption = { store: { type: 'string' as const } };

const exportCommand: Command = {
  name: 'export',
  summary: 'export the preference store as TRL JSONL (paired or unpaired) or a full dump',
  usage: [
    `Usage: slhf export --store PATH --format ${EXPORT_FORMATS} --out FILE`,
    '',
    '  --store PATH   store folder, or a .jsonl store file',
    '  --format       trl-paired:   {"prompt","chosen","rejected"} per pair (prompt: chat messages)',
    '                 trl-unpaired: {"prompt","completion","label"}, two rows per pair',
    '                 full:         every record, lossless (import it on another machine)',
    `                 ${STACKELBERG_PROMPTS_FORMAT}: {"prompt_id","prompt","drafts"} per context, for the StackelbergGDA trainer`,
    '                 (lasgroup/stackelberg-learning; docs/scale-out.md); export only',
    '  --out FILE     where to write the JSONL',
  ].join('\n'),
  options: { ...storeOption, format: { type: 'string' }, out: { type: 'string' } },
  async run(args, io) {
    const fmt = format(args, this, EXPORT_FORMATS);
    const out = requireString(args, 'out', this);
    const store = await openStore(args, this, io);
    if ((fmt as string) === STACKELBERG_PROMPTS_FORMAT) return exportPrompts(store, out, io);
    const unreadable = await store.unreadableRecords();
    const rows = exportRows(await store.records(), fmt, unreadable);
    writeJsonl(out, rows);
    const count = fmt === 'full' ? rows.length - 1 : rows.length;
    io.stdout(`exported ${count} ${fmt === 'full' ? 'records' : 'rows'} (${fmt}) to ${out}\n`);
    // Never silent about records left out or carried unread.
    if (unreadable.length > 0 && fmt === 'full') {
      io.stderr(`${unreadable.length} of them could not be read by this version (written by a newer SLHF Refine?) and were exported as stored; importing them needs that version.\n`);
    } else if (unreadable.length > 0) {
      io.stderr(`${unreadable.length} record(s) could not be read by this version (written by a newer SLHF Refine?), so their pairs are not in this export; update SLHF Refine, or use --format full to carry them as stored.\n`);
    }
    return 0;
  },
};

const importCommand: Command = {
  name: 'import',
  summary: 'import preference pairs (TRL JSONL) or a full dump into the store',
  usage: [
    `Usage: slhf import --store PATH --format ${FORMATS} [--workspace TAG] FILE`,
    '',
    '  --store PATH      store folder, or a .jsonl store file (created if missing)',
    '  --format          trl-paired, trl-unpaired (rows are paired by prompt and opposite label), or full',
    '  --workspace TAG   workspace tag for imported pairs (default: imported)',
    '',
    'Rows that cannot be used are listed with their line numbers; the rest is imported.',
  ].join('\n'),
  options: { ...storeOption, format: { type: 'string' }, workspace: { type: 'string' } },
  positionals: true,
  async run(args, io) {
    const fmt = format(args, this);
    if (args.positionals.length !== 1) throw new UsageError(`expected exactly one FILE to import.\n\n${this.usage}`);
    const file = args.positionals[0];
    const store = await openStore(args, this, io);
    const workspace = typeof args.values.workspace === 'string' ? args.values.workspace : 'imported';
    const parser = new ImportParser(fmt, { source: basename(file), workspace, importedAt: new Date().toISOString() });
    const totals = { added: 0, updated: 0, unchanged: 0 };
    const flush = async (records: StoreRecord[]) => {
      const r = await store.putMany(records);
      totals.added += r.added;
      totals.updated += r.updated;
      totals.unchanged += r.unchanged;
    };
    const input = createReadStream(file);
    const opened = new Promise<void>((resolve, reject) => input.once('open', () => resolve()).once('error', reject));
    try {
      await opened;
    } catch (err) {
      throw storeIoError(err, file, 'read the import file', false);
    }
    let line = 0;
    try {
      for await (const text of createInterface({ input, crlfDelay: Infinity })) {
        parser.line(text, ++line);
        if (line % IMPORT_BATCH === 0) await flush(parser.takeRecords());
      }
    } catch (err) {
      // Read errors (a folder: EISDIR, a line past the string limit) get a clear message; the
      // batches already imported stay (storeIoError passes the store's own errors through).
      throw storeIoError(err, file, `read line ${line + 1} of the import file`, false);
    }
    const { records, problems, rows } = parser.finish();
    await flush(records);
    io.stdout(`imported ${file} (${fmt}): ${rows} rows; ${totals.added} records added, ${totals.updated} updated, ${totals.unchanged} already present\n`);
    if (problems.length > 0) {
      io.stderr(`${problems.length} row(s) could not be used:\n`);
      for (const p of problems.slice(0, PROBLEMS_SHOWN)) io.stderr(`  line ${p.line}: ${p.message}\n`);
      if (problems.length > PROBLEMS_SHOWN) io.stderr(`  ... and ${problems.length - PROBLEMS_SHOWN} more\n`);
    }
    return rows > 0 && totals.added + totals.updated + totals.unchanged === 0 ? 1 : 0;
  },
};

const statsCommand: Command = {
  name: 'store-stats',
  summary: 'print the preference store\'s statistics as JSON (acceptance rates, usable pairs)',
  usage: 'Usage: slhf store-stats --store PATH',
  options: storeOption,
  async run(args, io) {
    const store = await openStore(args, this, io);
    io.stdout(JSON.stringify(await store.stats(), null, 2) + '\n');
    return 0;
  },
};

const deleteAllCommand: Command = {
  name: 'store-delete-all',
  summary: 'delete every record in the preference store',
  usage: 'Usage: slhf store-delete-all --store PATH --yes',
  options: { ...storeOption, yes: { type: 'boolean' } },
  async run(args, io) {
    if (args.values.yes !== true) throw new UsageError(`this deletes every stored record; pass --yes to confirm.\n\n${this.usage}`);
    const store = await openStore(args, this, io);
    const count = await store.deleteAll();
    io.stdout(`deleted ${count} records from ${store.path}\n`);
    return 0;
  },
};

/** The `slhf` subcommands of src/store. */
export const storeCommands: Command[] = [exportCommand, importCommand, statsCommand, deleteAllCommand];
