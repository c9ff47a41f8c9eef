// Copy-aware speculation for refinement: most of a refined text copies the text it refines, so the
// next tokens are guessed by prompt lookup (find where the output's last few tokens occur earlier,
// in the prompt that holds the draft, and propose what followed them there) and verified in one
// forward pass. generate.ts accepts a drafted token only when the token choice it would have made
// anyway (same sampler, same random stream, one draw per emitted token) picks it, so with or without
// speculation the tokens, log-probs and random draws are the same; only the number of passes changes.

/** The longest suffix of the sequence looked up; shorter ones are tried when it does not occur. */
export const MAX_NGRAM = 3;
/** Drafted tokens per verifying pass, at most (measured in bench/refinement.bench.ts; BENCHMARKS.md). */
export const DEFAULT_DRAFT_TOKENS = 8;

/** Tokens to draft per pass: $SLHF_DRAFT_TOKENS when set (0 turns speculation off), else the default. */
export function draftTokensSetting(env: NodeJS.ProcessEnv = process.env): number {
  const set = env.SLHF_DRAFT_TOKENS?.trim();
  if (!set) return DEFAULT_DRAFT_TOKENS;
  const n = Number(set);
  if (!Number.isInteger(n) || n < 0) throw new Error(`SLHF_DRAFT_TOKENS must be a whole number of tokens (0: no speculation), got ${JSON.stringify(set)}`);
  return n;
}

/**
 * The `k` tokens that followed, at its latest earlier occurrence, the longest suffix of `sequence`
 * (MAX_NGRAM tokens down to `minNgram`) that occurs earlier. Empty when none does.
 */
export function lookupDraft(sequence: readonly number[], k: number, minNgram = 1): number[] {
  const end = sequence.length;
  if (k <= 0) return [];
  for (let n = Math.min(MAX_NGRAM, end - 1); n >= minNgram; n--) {
    // A match starting at i covers [i, i + n); its continuation starts at i + n < end.
    for (let i = end - n - 1; i >= 0; i--) {
      let j = 0;
      while (j < n && sequence[i + j] === sequence[end - n + j]) j++;
      if (j === n) {
        // Past the end the draft copies itself (as LZ77 does), so a repeating run is drafted whole.
        const draft: number[] = [];
        for (let at = i + n; draft.length < k; at++) draft.push(at < end ? sequence[at] : draft[at - end]);
        return draft;
      }
    }
  }
  return [];
}

/** What speculation did in one generation (or summed over several): for logs, tests and the bench. */
export interface SpeculationCounters {
  /** Forward passes that verified at least one drafted token. */
  verifySteps: number;
  /** Tokens drafted (and so verified). */
  drafted: number;
  /** Drafted tokens the token choice accepted. */
  accepted: number;
}

export function emptySpeculationCounters(): SpeculationCounters {
  return { verifySteps: 0, drafted: 0, accepted: 0 };
}
