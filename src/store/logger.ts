// A levelled logger the host injects (the extension routes it to an output channel, the CLI to
// stderr). Store code never passes user texts to it, at any level: only ids, counts and positions.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

export function createLogger(options: { level?: LogLevel; sink?: (level: Exclude<LogLevel, 'silent'>, message: string) => void } = {}): Logger {
  const threshold = order[options.level ?? 'info'];
  const sink = options.sink ?? ((level, message) => console.error(`[slhf store] ${level}: ${message}`));
  const at = (level: Exclude<LogLevel, 'silent'>) => (message: string) => {
    if (order[level] >= threshold) sink(level, message);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
