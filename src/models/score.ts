// Feeding the log-prob graph (scoring and training): rows of token ids are left-padded into one
// batch, with the attention mask and the position ids Hugging Face generation would use, and the
// per-token log-probs are read back per row.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createSession, saveModel, type Feed, type Session, type SessionOptions } from '../onnx';
import { openCheckpoint, type Checkpoint } from './checkpoint';
import type { DecoderConfig } from './config';
import { loadDecoderWeights, mergeAdapterDir } from './export';
import { buildLogProbGraph } from './graphs';
import { collectGarbage } from '../base/memory';

export interface ScoreRow {
  ids: number[];
  /** Score ids[from..]: the log-prob of each token given everything before it (from >= 1). */
  from: number;
  /** Sampling temperature to score at (graphs built with `temperature`); absent: 1. */
  temperature?: number;
}

export interface LogProbBatch {
  feeds: Record<string, Feed>;
  batch: number;
  width: number;
  /** Left padding of each row. */
  pads: number[];
}

/** Padded inputs of the log-prob graph; target_ids[b, t] is the token after position t. */
export function logProbBatch(rows: ScoreRow[], padId = 0): LogProbBatch {
  if (rows.length === 0) throw new Error('score: no rows to score');
  for (const row of rows) {
    if (!(Number.isInteger(row.from) && row.from >= 1 && row.from <= row.ids.length)) {
      throw new Error(`score: the first scored position must be between 1 and the row length ${row.ids.length}, got ${row.from} (the first token has no context to be scored in)`);
    }
  }
  const width = Math.max(...rows.map((r) => r.ids.length));
  const n = rows.length * width;
  const ids = new BigInt64Array(n);
  const mask = new BigInt64Array(n);
  const positions = new BigInt64Array(n);
  const targets = new BigInt64Array(n);
  const pads = rows.map((r) => width - r.ids.length);
  rows.forEach((row, b) => {
    for (let t = 0; t < width; t++) {
      const j = t - pads[b];
      const at = b * width + t;
      const real = j >= 0;
      ids[at] = BigInt(real ? row.ids[j] : padId);
      mask[at] = real ? 1n : 0n;
      // HF: cumsum(mask) - 1, with padded positions filled with 1.
      positions[at] = BigInt(real ? j : 1);
      targets[at] = BigInt(real && j + 1 < row.ids.length ? row.ids[j + 1] : padId);
    }
  });
  const dims = [rows.length, width];
  return {
    feeds: {
      input_ids: { dtype: 'int64', data: ids, dims },
      attention_mask: { dtype: 'int64', data: mask, dims },
      position_ids: { dtype: 'int64', data: positions, dims },
      target_ids: { dtype: 'int64', data: targets, dims },
    },
    batch: rows.length,
    width,
    pads,
  };
}

/** The INVERSE_TEMPERATURE feed of a graph built with `temperature`: 1 / T per row. */
export function inverseTemperatureFeed(rows: ScoreRow[], dtype: 'float32' | 'float64'): Feed {
  const values = rows.map((row) => {
    const t = row.temperature ?? 1;
    if (!(t > 0 && Number.isFinite(t))) throw new Error(`score: temperature must be a positive number, got ${t}`);
    return 1 / t;
  });
  return { dtype, data: dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values), dims: [rows.length] };
}

/** Each row's scored log-probs, read from a [batch, width] token_logprobs output. */
export function rowLogProbs(rows: ScoreRow[], batch: LogProbBatch, tokenLogProbs: Float32Array): number[][] {
  return rows.map((row, b) => {
    const out: number[] = [];
    // Position t predicts token t + 1, so token j is read at padded position pad + j - 1.
    for (let j = row.from; j < row.ids.length; j++) out.push(tokenLogProbs[b * batch.width + batch.pads[b] + j - 1]);
    return out;
  });
}

/** Scores rows in one batch on a session of the log-prob graph (extra feeds: LoRA inputs, masks). */
export async function scoreRows(session: Session, rows: ScoreRow[], extraFeeds: Record<string, Feed> = {}, padId = 0): Promise<number[][]> {
  const batch = logProbBatch(rows, padId);
  const out = await session.run({ ...batch.feeds, ...extraFeeds }, ['token_logprobs']);
  return rowLogProbs(rows, batch, out.token_logprobs.data as Float32Array);
}

export interface Scorer {
  config: DecoderConfig;
  /** Parsed tokenizer.json and tokenizer_config.json, or null when the folder has no tokenizer. */
  tokenizer: { json: Record<string, unknown>; config: Record<string, unknown> } | null;
  padId: number;
  score(rows: ScoreRow[]): Promise<number[][]>;
  release(): Promise<void>;
}

export interface ScorerOptions extends SessionOptions {
  /** A PEFT adapter folder, merged into the weights before the graph is built. */
  lora?: string;
}

/**
 * A scoring session for a model folder. The graph goes through a temporary file with external
 * data, so neither protobuf's 2 GB limit nor a second in-memory copy of the weights is involved.
 */
export async function openScorer(modelDir: string, options: ScorerOptions = {}): Promise<Scorer> {
  const checkpoint = await openCheckpoint(modelDir, { requireTokenizer: false });
  const tmp = mkdtempSync(join(tmpdir(), 'slhf-score-'));
  let session: Session;
  try {
    await saveScoringGraph(checkpoint, options.lora, join(tmp, 'score.onnx'));
    // The weights are unreachable now; collect them before ONNX Runtime reads its own copy, or both
    // copies would be alive at the peak.
    await collectGarbage();
    session = await createSession(join(tmp, 'score.onnx'), { device: 'cpu', ...options });
  } finally {
    await checkpoint.close();
    rmSync(tmp, { recursive: true, force: true });
  }
  const config = checkpoint.config;
  const padId = config.padTokenId ?? config.eosTokenIds[0] ?? 0;
  return {
    config,
    tokenizer: checkpoint.tokenizer ? { json: checkpoint.tokenizer, config: checkpoint.tokenizerConfig } : null,
    padId,
    score: (rows) => {
      for (const row of rows) {
        const bad = row.ids.find((id) => !(Number.isInteger(id) && id >= 0 && id < config.vocabSize));
        if (bad !== undefined) throw new Error(`score: token id ${bad} is outside the vocabulary (0..${config.vocabSize - 1})`);
      }
      return scoreRows(session, rows, {}, padId);
    },
    release: () => session.release(),
  };
}

/** Builds and saves the scoring graph; every reference to the weights ends with this call. */
async function saveScoringGraph(checkpoint: Checkpoint, lora: string | undefined, path: string): Promise<void> {
  const weights = await loadDecoderWeights(checkpoint);
  if (lora) await mergeAdapterDir(checkpoint, weights, lora);
  const { graph } = buildLogProbGraph(checkpoint.config, weights, { external: true, consume: true });
  await saveModel(graph, path, { externalDataFile: `${basename(path)}_data` });
}
