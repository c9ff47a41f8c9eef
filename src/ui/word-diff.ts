// Word-level diff for showing a refinement against its draft: texts split into words, runs of
// whitespace and single punctuation marks, compared by longest common subsequence. Pure, so the
// webview and the unit tests use it as is.

export type DiffKind = 'same' | 'added' | 'removed';

export interface DiffSegment {
  readonly kind: DiffKind;
  readonly text: string;
}

/** Beyond this many token pairs the LCS table is too big to be worth it; the diff becomes one replace. */
const MAX_CELLS = 4_000_000;

export function diffTokens(text: string): string[] {
  return text.match(/\s+|[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu) ?? [];
}

function push(out: DiffSegment[], kind: DiffKind, text: string): void {
  if (!text) return;
  const last = out[out.length - 1];
  if (last && last.kind === kind) out[out.length - 1] = { kind, text: last.text + text };
  else out.push({ kind, text });
}

/**
 * Segments that turn `before` into `after`: concatenating the 'same' and 'removed' texts gives
 * `before`, the 'same' and 'added' texts give `after`. Adjacent segments of a kind are merged, and
 * at a change the removal comes before the addition.
 */
export function wordDiff(before: string, after: string): DiffSegment[] {
  const a = diffTokens(before);
  const b = diffTokens(after);
  // Common prefix and suffix are cheap to strip and keep the table small for typical edits.
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const out: DiffSegment[] = [];
  push(out, 'same', a.slice(0, head).join(''));
  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);
  if ((midA.length + 1) * (midB.length + 1) > MAX_CELLS) {
    push(out, 'removed', midA.join(''));
    push(out, 'added', midB.join(''));
  } else {
    diffMiddle(midA, midB, out);
  }
  push(out, 'same', a.slice(a.length - tail).join(''));
  return out;
}

function diffMiddle(a: string[], b: string[], out: DiffSegment[]): void {
  const n = a.length;
  const m = b.length;
  // lcs[i][j] = LCS length of a[i..] and b[j..], flattened.
  const width = m + 1;
  const lcs = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * width + j] = a[i] === b[j] ? lcs[(i + 1) * width + j + 1] + 1 : Math.max(lcs[(i + 1) * width + j], lcs[i * width + j + 1]);
    }
  }
  let i = 0;
  let j = 0;
  let removed = '';
  let added = '';
  const flush = () => {
    push(out, 'removed', removed);
    push(out, 'added', added);
    removed = '';
    added = '';
  };
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      flush();
      push(out, 'same', a[i]);
      i++;
      j++;
    } else if (j >= m || (i < n && lcs[(i + 1) * width + j] >= lcs[i * width + j + 1])) {
      removed += a[i++];
    } else {
      added += b[j++];
    }
  }
  flush();
}
