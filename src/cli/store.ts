import type { Command } from './command';

/** The `slhf` subcommands of src/store. */
export const storeCommands: Command[] = [];
