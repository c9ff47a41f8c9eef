// What a generation records about how it was made. The refiner fills these in; the store keeps them.
// They live here, below both, because the layering forbids the refiner and the store to import each other.

export interface SamplingSettings {
  temperature: number;
  topP: number;
  /** 0 disables top-k. */
  topK: number;
  /** 1 disables the penalty. */
  repetitionPenalty: number;
  /** null when sampling was not seeded (or the seed is unknown, e.g. migrated records). */
  seed: number | null;
  /** null when unknown (migrated records). */
  maxNewTokens: number | null;
}

export interface GenerationTimings {
  /** ISO 8601 time the generation started. */
  startedAt: string;
  totalMs: number;
  /** From the start (prompt included) to the first generated token. */
  firstTokenMs?: number;
  /** Number of generated tokens, when the generator counted them. */
  tokens?: number;
  /** Generated tokens after the first, per second of decoding after the first. */
  tokensPerSecond?: number;
}
