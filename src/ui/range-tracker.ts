// Follows a span of a document through later edits, by offsets. The review uses it to find the
// text it is about after the user typed elsewhere, and the decision recorder to read back what an
// accepted refinement became. Pure (no vscode import), so it is unit-tested on its own.

export interface TrackedSpan {
  readonly start: number;
  readonly end: number;
  /** An edit landed inside the span (or replaced across one of its ends). */
  readonly touched: boolean;
}

/** One replacement: `length` characters at `offset` became `newLength` characters. */
export interface SpanEdit {
  readonly offset: number;
  readonly length: number;
  readonly newLength: number;
}

/**
 * The span after one edit. Edits wholly before it shift it; edits wholly after it leave it alone;
 * an edit that overlaps it is taken into it (the span grows or shrinks to cover the new text) and
 * marks it touched. Typing at either boundary counts as inside: text added right after an
 * accepted refinement usually continues it.
 */
export function applySpanEdit(span: TrackedSpan, edit: SpanEdit): TrackedSpan {
  const editEnd = edit.offset + edit.length;
  const delta = edit.newLength - edit.length;
  if (editEnd < span.start) return { start: span.start + delta, end: span.end + delta, touched: span.touched };
  if (edit.offset > span.end) return span;
  const start = Math.min(span.start, edit.offset);
  const end = Math.max(span.end, editEnd) + delta;
  const noop = edit.length === 0 && edit.newLength === 0;
  return { start, end, touched: span.touched || !noop };
}

/** The span after the edits of one change event, all given against the document before it. */
export function applySpanEdits(span: TrackedSpan, edits: readonly SpanEdit[]): TrackedSpan {
  // Applied from the end of the document backwards, each edit leaves the offsets of the ones
  // still to come valid.
  return [...edits].sort((x, y) => y.offset - x.offset).reduce(applySpanEdit, span);
}

/**
 * Whether the text a refinement replaces is still as it was: no edit touched its span and the text
 * there is the original. Edits elsewhere in the document leave it intact (the span moved with them),
 * so Accept applies without asking; the span's own text changing is what needs the user's choice.
 */
export function spanIntact(span: TrackedSpan, textNow: string, original: string): boolean {
  return !span.touched && textNow === original;
}
