// Export to and import from JSONL: TRL's paired ({prompt, chosen, rejected}) and unpaired
// ({prompt, completion, label}, two rows per pair) preference formats, and `full`, a lossless dump
// of the records. Import is row by row: a row it cannot use is reported with its line number and
// the rest goes on.
import { createHash } from 'node:crypto';
import { upgradeRecord } from './migrate';
import { pairsOf } from './pairs';
import { SCHEMA_VERSION, type ChatMessage, type Completion, type ImportedPairRecord, type Prompt, type StoreRecord } from './schema';
import { checkText, SchemaError } from './validate';

export const TRANSFER_FORMATS = ['trl-paired', 'trl-unpaired', 'full'] as const;
export type TransferFormat = (typeof TRANSFER_FORMATS)[number];

/** First line of a `full` export. */
export const FULL_EXPORT_HEADER = { format: 'slhf-store-export', schemaVersion: SCHEMA_VERSION } as const;

/**
 * The rows of an export, one JSON value per output line. `unreadable`: records this version cannot
 * read (store.unreadableRecords()); `full` is lossless, so it carries them as stored, last.
 */
export function exportRows(records: StoreRecord[], format: TransferFormat, unreadable: unknown[] = []): unknown[] {
  if (format === 'full') return [FULL_EXPORT_HEADER, ...records, ...unreadable];
  const pairs = records.flatMap(pairsOf);
  if (format === 'trl-paired') return pairs.map((p) => ({ prompt: p.prompt, chosen: trlCompletion(p.prompt, p.chosen.text), rejected: trlCompletion(p.prompt, p.rejected.text) }));
  return pairs.flatMap((p) => [
    { prompt: p.prompt, completion: trlCompletion(p.prompt, p.chosen.text), label: true },
    { prompt: p.prompt, completion: trlCompletion(p.prompt, p.rejected.text), label: false },
  ]);
}

/**
 * TRL renders a conversational row as prompt + completion (a list concatenation in Python), so
 * after a message-list prompt a plain-text completion must be an assistant turn, or DPO/KTO fail on
 * the row.
 */
function trlCompletion(prompt: Prompt, text: Completion): Completion {
  return Array.isArray(prompt) && typeof text === 'string' ? [{ role: 'assistant', content: text }] : text;
}

export interface ImportProblem {
  line: number;
  message: string;
}

export interface ImportOptions {
  /** Recorded on imported pairs (e.g. the file's name). */
  source: string;
  /** Workspace tag for imported pairs. */
  workspace: string;
  importedAt: string;
}

const sameMessage = (a: ChatMessage, b: ChatMessage) => a.role === b.role && a.content === b.content;

function describe(err: unknown): string {
  return err instanceof SchemaError ? err.message : String((err as Error)?.message ?? err);
}

/** Feeds lines of an import file one at a time; `finish` returns the records and the problems. */
export class ImportParser {
  private readonly records: StoreRecord[] = [];
  private readonly problems: ImportProblem[] = [];
  /** Unpaired rows waiting for a row with the opposite label and the same prompt. */
  private readonly waiting = new Map<string, { line: number; completion: Completion; label: boolean }[]>();
  rows = 0;

  constructor(private readonly format: TransferFormat, private readonly options: ImportOptions) {}

  line(text: string, line: number): void {
    if (text.trim() === '') return;
    this.rows++;
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch {
      this.problem(line, 'not valid JSON');
      return;
    }
    try {
      if (this.format === 'full') this.fullRow(row);
      else if (typeof row !== 'object' || row === null || Array.isArray(row)) this.problem(line, 'must be a JSON object');
      else if (this.format === 'trl-paired') this.pairedRow(row as Record<string, unknown>, line);
      else this.unpairedRow(row as Record<string, unknown>, line);
    } catch (err) {
      this.problem(line, describe(err));
    }
  }

  /** The records parsed so far, handed over once (for importing in batches). */
  takeRecords(): StoreRecord[] {
    return this.records.splice(0);
  }

  finish(): { records: StoreRecord[]; problems: ImportProblem[]; rows: number } {
    for (const queue of this.waiting.values()) {
      for (const w of queue) this.problem(w.line, `no row with label ${!w.label} and the same prompt to pair it with`);
    }
    this.waiting.clear();
    this.problems.sort((a, b) => a.line - b.line);
    return { records: this.records, problems: this.problems, rows: this.rows };
  }

  private problem(line: number, message: string): void {
    this.problems.push({ line, message });
  }

  private fullRow(row: unknown): void {
    const header = row as Record<string, unknown>;
    if (header?.format === FULL_EXPORT_HEADER.format) {
      this.rows--;
      return;
    }
    this.records.push(upgradeRecord(row));
  }

  private pairedRow(row: Record<string, unknown>, line: number): void {
    let { prompt, chosen, rejected } = row as { prompt?: unknown; chosen?: unknown; rejected?: unknown };
    if (chosen === undefined || rejected === undefined) {
      this.problem(line, 'needs "chosen" and "rejected"');
      return;
    }
    checkText(chosen, 'chosen');
    checkText(rejected, 'rejected');
    if (prompt === undefined) {
      // TRL's implicit-prompt form: conversations that share their opening messages.
      const split = splitImplicitPrompt(chosen as Completion, rejected as Completion);
      if (!split) {
        this.problem(line, 'has no "prompt", and chosen/rejected are not conversations that share a prompt');
        return;
      }
      ({ prompt, chosen, rejected } = split);
    }
    checkText(prompt, 'prompt');
    this.addPair(prompt as Prompt, chosen as Completion, rejected as Completion, line);
  }

  private unpairedRow(row: Record<string, unknown>, line: number): void {
    const { prompt, completion, label } = row;
    if (prompt === undefined || completion === undefined) {
      this.problem(line, 'needs "prompt", "completion" and "label"');
      return;
    }
    if (typeof label !== 'boolean') {
      this.problem(line, '"label" must be true or false');
      return;
    }
    checkText(prompt, 'prompt');
    checkText(completion, 'completion');
    const key = JSON.stringify(prompt);
    const queue = this.waiting.get(key) ?? [];
    const partner = queue.findIndex((w) => w.label !== label);
    if (partner < 0) {
      queue.push({ line, completion: completion as Completion, label });
      this.waiting.set(key, queue);
      return;
    }
    const [other] = queue.splice(partner, 1);
    if (queue.length === 0) this.waiting.delete(key);
    const [chosen, rejected] = label ? [completion as Completion, other.completion] : [other.completion, completion as Completion];
    this.addPair(prompt as Prompt, chosen, rejected, line);
  }

  private addPair(prompt: Prompt, chosen: Completion, rejected: Completion, line: number): void {
    if (JSON.stringify(chosen) === JSON.stringify(rejected)) {
      this.problem(line, 'chosen and rejected are the same text, so they express no preference');
      return;
    }
    const record: ImportedPairRecord = {
      kind: 'imported-pair',
      schemaVersion: SCHEMA_VERSION,
      id: importedPairId(prompt, chosen, rejected),
      workspace: this.options.workspace,
      importedAt: this.options.importedAt,
      source: this.options.source,
      prompt,
      chosen,
      rejected,
    };
    this.records.push(record);
  }
}

/** Content-derived, so the same pair imported twice is one record. */
export function importedPairId(prompt: Prompt, chosen: Completion, rejected: Completion): string {
  return `imported-${createHash('sha256').update(JSON.stringify([prompt, chosen, rejected])).digest('hex').slice(0, 32)}`;
}

function splitImplicitPrompt(chosen: Completion, rejected: Completion): { prompt: ChatMessage[]; chosen: ChatMessage[]; rejected: ChatMessage[] } | undefined {
  if (!Array.isArray(chosen) || !Array.isArray(rejected)) return undefined;
  let k = 0;
  while (k < chosen.length && k < rejected.length && sameMessage(chosen[k], rejected[k])) k++;
  if (k === 0 || k === chosen.length || k === rejected.length) return undefined;
  return { prompt: chosen.slice(0, k), chosen: chosen.slice(k), rejected: rejected.slice(k) };
}
