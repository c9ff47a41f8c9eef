// Where an undecided session's review goes when History re-opens it: the one place among the open
// documents that holds the text it refined. Pure (no vscode import), unit-tested.

/** The document index and offset of `text` when exactly one of `contents` holds it exactly once; else undefined. */
export function uniqueOccurrence(contents: readonly string[], text: string): { index: number; at: number } | undefined {
  if (!text) return undefined;
  let found: { index: number; at: number } | undefined;
  for (const [index, content] of contents.entries()) {
    const at = content.indexOf(text);
    if (at < 0) continue;
    // Twice in one document, or in two documents: which one the user meant is unknown.
    if (found || content.indexOf(text, at + 1) >= 0) return undefined;
    found = { index, at };
  }
  return found;
}
