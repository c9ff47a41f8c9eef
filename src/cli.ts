// `slhf`: the headless command line over the same core as the extension.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { adaptersCommand } from './cli/adapters';
import { parseCommandArgs, UsageError, type CliIO, type Command } from './cli/command';
import { gpuCommands } from './cli/gpu';
import { handleInterrupt } from './cli/interrupt';
import { modelCommands } from './cli/models';
import { refinerCommands } from './cli/refiner';
import { storeCommands } from './cli/store';
import { trainingCommands } from './cli/training';

const commands: Command[] = [...modelCommands, ...refinerCommands, ...storeCommands, ...trainingCommands, adaptersCommand, ...gpuCommands];

function version(): string {
  // The bundle lives in out/, package.json one folder up; from sources it is two up.
  for (const candidate of [join(__dirname, '..', 'package.json'), join(__dirname, '..', '..', 'package.json')]) {
    try {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8'));
      if (pkg.name === 'slhf-refine') return pkg.version;
    } catch {
      // try the next location
    }
  }
  return 'unknown';
}

function help(): string {
  const width = Math.max(0, ...commands.map((c) => c.name.length));
  const list = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n');
  return [
    'Usage: slhf <command> [options]',
    '',
    'SLHF Refine: local Leader/Follower refinement, trained on your own preferences.',
    '',
    'Commands:',
    list || '  (none yet)',
    '',
    'Options:',
    '  -h, --help     show this help, or a command\'s help with `slhf <command> --help`',
    '  -v, --version  print the version',
  ].join('\n');
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    io.stdout(help() + '\n');
    return first === undefined ? 1 : 0;
  }
  if (first === '-v' || first === '--version') {
    io.stdout(version() + '\n');
    return 0;
  }
  const command = commands.find((c) => c.name === first);
  if (!command) {
    io.stderr(`slhf: unknown command '${first}'.\n\n${help()}\n`);
    return 2;
  }
  try {
    const args = parseCommandArgs(command, rest);
    if (args.values.help) {
      io.stdout(command.usage + '\n');
      return 0;
    }
    return await command.run(args, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`slhf ${command.name}: ${err.message}\n`);
      return 2;
    }
    io.stderr(`slhf ${command.name}: ${(err as Error).message ?? String(err)}\n`);
    if (process.env.SLHF_DEBUG) io.stderr(String((err as Error).stack) + '\n');
    return 1;
  }
}

async function readStdin(signal: AbortSignal): Promise<string> {
  const chunks: Buffer[] = [];
  // Ctrl+C while the draft is still being typed or piped in: stop waiting (the command sees the abort).
  const stop = () => process.stdin.destroy();
  signal.addEventListener('abort', stop, { once: true });
  try {
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    signal.removeEventListener('abort', stop);
  }
  return Buffer.concat(chunks).toString('utf8');
}

if (require.main === module) {
  const interrupt = handleInterrupt((t) => process.stderr.write(t));
  main(process.argv.slice(2), {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    stdin: () => readStdin(interrupt.signal),
    signal: interrupt.signal,
  }).then((code) => {
    process.exitCode = interrupt.exitCode(code);
    interrupt.dispose();
  });
}
