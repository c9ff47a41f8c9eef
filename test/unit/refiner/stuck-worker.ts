// The refiner process as the product runs it, stuck as in a long synchronous step (a native call):
// right after it sends a given message it stops reading (Cancel included) for ten minutes. Which
// message: $SLHF_TEST_STUCK_AFTER, 'exporting' (its first export's log line) or 'chunk' (its first
// streamed text). It gets stuck once per test process (a marker file named after that process), so
// the fresh process that replaces it works normally. Sending first and blocking after makes the
// order certain: the parent sees the message, then its Cancel is never read.
import { existsSync, writeFileSync } from 'node:fs';
import '../../../src/refiner/refiner-worker';
import { blockEventLoop, stuckMarker } from './worker-cues';

const after = process.env.SLHF_TEST_STUCK_AFTER;
const isCue = (message: unknown): boolean => {
  if (typeof message !== 'object' || message === null) return false;
  const m = message as { type?: string; message?: unknown; event?: { type?: string } };
  if (after === 'exporting') return m.type === 'log' && /^exporting /.test(String(m.message));
  return after === 'chunk' && m.type === 'event' && m.event?.type === 'chunk';
};

const send = process.send!.bind(process) as (message: unknown, ...rest: unknown[]) => boolean;
process.send = ((message: unknown, ...rest: unknown[]) => {
  // Written to the pipe before send returns, so the parent gets it although this process then blocks.
  const sent = send(message, ...rest);
  const marker = stuckMarker(process.ppid);
  if (isCue(message) && !existsSync(marker)) {
    writeFileSync(marker, '');
    blockEventLoop();
  }
  return sent;
}) as typeof process.send;
