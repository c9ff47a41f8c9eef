// Quality of a refiner on synthetic refinement pairs: how often it restores corrupted text exactly
// (the exact-fix rate), and how often it changes text that was already clean (the damage rate).
// Comparison is exact string equality: a caller whose refiner adds a trailing newline or similar
// framing strips it before returning.
import type { CorruptionKind, RefinementPair } from './corruption';

export type RefineFn = (text: string) => string | Promise<string>;

export interface KindFixes {
  count: number;
  fixed: number;
  rate: number;
}

export interface FixMetrics {
  corrupted: number;
  exactFixes: number;
  /** exactFixes / corrupted; null without corrupted pairs. */
  exactFixRate: number | null;
  clean: number;
  damaged: number;
  /** damaged / clean; null without clean pairs. */
  damageRate: number | null;
  /** Exact fixes of the pairs each kind was applied to (a pair counts once for each of its kinds). */
  byKind: Partial<Record<CorruptionKind, KindFixes>>;
  /** The first few misses, for a model card or a report. */
  misses: { input: string; target: string; output: string }[];
}

const rate = (n: number, of: number) => (of === 0 ? null : n / of);

/** Runs `refine` on every pair's input, in order, and scores the outputs against the targets. */
export async function fixMetrics(pairs: readonly RefinementPair[], refine: RefineFn, maxMisses = 5): Promise<FixMetrics> {
  let corrupted = 0;
  let exactFixes = 0;
  let clean = 0;
  let damaged = 0;
  const byKind: Partial<Record<CorruptionKind, KindFixes>> = {};
  const misses: FixMetrics['misses'] = [];
  for (const pair of pairs) {
    const output = await refine(pair.input);
    const right = output === pair.target;
    if (!right && misses.length < maxMisses) misses.push({ input: pair.input, target: pair.target, output });
    if (pair.applied.length === 0) {
      clean += 1;
      if (!right) damaged += 1;
      continue;
    }
    corrupted += 1;
    if (right) exactFixes += 1;
    for (const kind of pair.applied) {
      const k = (byKind[kind] ??= { count: 0, fixed: 0, rate: 0 });
      k.count += 1;
      if (right) k.fixed += 1;
      k.rate = k.fixed / k.count;
    }
  }
  return { corrupted, exactFixes, exactFixRate: rate(exactFixes, corrupted), clean, damaged, damageRate: rate(damaged, clean), byKind, misses };
}
