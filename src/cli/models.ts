import type { Command } from './command';

/** The `slhf` subcommands of src/models. */
export const modelCommands: Command[] = [];
