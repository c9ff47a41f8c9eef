// Static shapes with named (symbolic) dimensions, and the shape algebra ops share.

/** A dimension: a size, a name shared by every tensor that has that size (batch_size), or unknown. */
export type Dim = number | string | null;
export type Shape = readonly Dim[];

export class ShapeError extends Error {}

export function formatShape(shape: Shape): string {
  return `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

export function isStatic(shape: Shape): shape is readonly number[] {
  return shape.every((d) => typeof d === 'number');
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Normalizes a possibly negative axis against a rank, naming the op on error. */
export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new ShapeError(`${op}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Two dims that broadcast; null when only the run can tell. */
function broadcastDim(a: Dim, b: Dim): Dim | undefined {
  if (a === b) return a;
  if (a === 1) return b;
  if (b === 1) return a;
  if (typeof a === 'number' && typeof b === 'number') return undefined;
  // A size other than 1 wins: the other dim is 1 or that size. Two different names (or an unknown)
  // may each be 1 at run time (batch_size = 1), so the result is unknown.
  if (typeof a === 'number') return a;
  if (typeof b === 'number') return b;
  return null;
}

/** Numpy-style multidirectional broadcasting of several shapes. */
export function broadcastShapes(op: string, shapes: Shape[]): Dim[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let dim: Dim = 1;
    for (const s of shapes) {
      const at = s.length - rank + i;
      const d = at >= 0 ? s[at] : 1;
      const next = broadcastDim(dim, d);
      if (next === undefined) {
        throw new ShapeError(`${op}: shapes ${shapes.map(formatShape).join(' and ')} do not broadcast (axis ${i - rank})`);
      }
      dim = next;
    }
    out.push(dim);
  }
  return out;
}

/** Whether two dims may be equal (used to reject definite mismatches only). */
export function compatibleDim(a: Dim, b: Dim): boolean {
  return !(typeof a === 'number' && typeof b === 'number' && a !== b);
}
