// The current paragraph, used as the draft when Refine Selection runs with an empty selection:
// the lines around the cursor up to the nearest blank line on either side. Pure, unit-tested.

export interface LineSpan {
  readonly startLine: number;
  /** Inclusive. */
  readonly endLine: number;
}

const blank = (line: string) => line.trim() === '';

/** The paragraph containing `line`, or undefined when that line is blank. */
export function paragraphAt(lines: readonly string[], line: number): LineSpan | undefined {
  if (line < 0 || line >= lines.length || blank(lines[line])) return undefined;
  let startLine = line;
  while (startLine > 0 && !blank(lines[startLine - 1])) startLine--;
  let endLine = line;
  while (endLine < lines.length - 1 && !blank(lines[endLine + 1])) endLine++;
  return { startLine, endLine };
}
