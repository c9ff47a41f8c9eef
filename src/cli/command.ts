import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A `slhf` subcommand. Each layer registers its own in src/cli/<layer>.ts. */
export interface Command {
  name: string;
  /** One line for `slhf --help`. */
  summary: string;
  /** Full usage text, printed by `slhf NAME --help` and after an argument error. */
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Whether positional arguments are accepted. */
  positionals?: boolean;
  run(args: ParsedArgs, io: CliIO): Promise<number>;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdin: () => Promise<string>;
  /** Aborted on Ctrl+C (src/cli/interrupt.ts): a long command stops its work and its child processes. */
  signal?: AbortSignal;
}

/** An error whose message is meant for the user as is (no stack trace). */
export class UsageError extends Error {}

export function parseCommandArgs(command: Command, argv: string[]): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: command.positionals ?? false,
      strict: true,
    });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${command.usage}`);
  }
}

/** Reads a required string option, with a clear error naming it. */
export function requireString(args: ParsedArgs, name: string, command: Command): string {
  const value = args.values[name];
  if (typeof value !== 'string' || value === '') {
    throw new UsageError(`--${name} is required.\n\n${command.usage}`); // main() prefixes 'slhf <command>: '
  }
  return value;
}

/** A string option's value; undefined when it is absent or empty. */
export function optionalString(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A --name value that must be one of `allowed` (the error lists them joined by `separator`); undefined when absent. */
export function choiceOption<T extends string>(args: ParsedArgs, name: string, allowed: readonly T[], separator = ', '): T | undefined {
  const value = optionalString(args, name);
  if (value !== undefined && !(allowed as readonly string[]).includes(value)) throw new UsageError(`--${name} must be one of ${allowed.join(separator)}, got ${JSON.stringify(value)}.`);
  return value as T | undefined;
}

interface NumberLimits { min?: number; max?: number; integer?: boolean }

/** Parses a numeric option, with bounds, or returns the fallback when absent. */
export function numberOption(args: ParsedArgs, name: string, fallback: number, opts?: NumberLimits): number;
export function numberOption(args: ParsedArgs, name: string, fallback: undefined, opts?: NumberLimits): number | undefined;
export function numberOption(args: ParsedArgs, name: string, fallback: number | undefined, opts: NumberLimits = {}): number | undefined {
  const raw = args.values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  const bad =
    typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(value) ||
    (opts.integer && !Number.isInteger(value)) ||
    (opts.min !== undefined && value < opts.min) || (opts.max !== undefined && value > opts.max);
  if (bad) {
    const range = [opts.min !== undefined ? `>= ${opts.min}` : '', opts.max !== undefined ? `<= ${opts.max}` : ''].filter(Boolean).join(' and ');
    throw new UsageError(`--${name} must be ${opts.integer ? 'an integer' : 'a number'}${range ? ' ' + range : ''}, got ${JSON.stringify(raw)}.`);
  }
  return value;
}
