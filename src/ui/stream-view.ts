// Turns the refiner's events into the panel's live-view messages.
import type { HostMessage } from './panel-protocol';
import type { StreamEvent } from './refine-flow';

/** Once the review is decided (or closed), the live view has nothing left to say. */
export const REVIEW_ENDED: HostMessage = { type: 'stream', phase: 'end', label: '', text: '' };

/** The message for one event; undefined for events the live view does not show. */
export function streamMessage(event: StreamEvent): HostMessage | undefined {
  switch (event.type) {
    case 'begin':
      return { type: 'stream', phase: 'begin', label: event.mode === 'refine' ? `Refining (${event.rounds} rounds)…` : `Drafting, then ${event.rounds} refinement rounds…`, text: '' };
    case 'round-start':
      return { type: 'stream', phase: 'round-start', label: event.role === 'leader' ? 'Leader draft' : `Round ${event.round}`, text: '' };
    case 'chunk':
      return { type: 'stream', phase: 'chunk', label: '', text: event.text };
    case 'round-end':
      return undefined;
    case 'done':
      return { type: 'stream', phase: 'done', label: event.stoppedBy === 'cancelled' ? 'Cancelled.' : `Done: ${event.rounds.length} round(s), ready for review.`, text: '' };
    case 'failed':
      return { type: 'stream', phase: 'failed', label: `The refinement failed: ${event.message}`, text: '' };
  }
}
