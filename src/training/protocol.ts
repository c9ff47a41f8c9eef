// The typed messages between a training process and its parent (CLI or extension host).
import type { Sample } from './data';
import type { SampleEvalResult } from './evaluate';
import type { TrainSettings } from './settings';
import type { StepProgress } from './trainer';
import type { VersionMeta } from './versions';

export interface TrainJob {
  /** The Follower's model folder (Hugging Face layout). */
  modelDir: string;
  /** Where versions and active.json live. */
  outRoot: string;
  /** Game samples of the training decisions (src/store's trainingSamples). */
  samples: Sample[];
  heldOut: Sample[];
  /** How many store records (decisions) the samples and the held-out samples come from. */
  records: { train: number; heldOut: number };
  settings: Partial<TrainSettings>;
  /** Recorded in adapter_config.json's base_model_name_or_path. */
  baseModel?: string;
  /** Continue from this PEFT adapter folder (the active version) instead of a fresh adapter. */
  startFrom?: string | null;
  /** Online mode: fresh samples from the Leader and the Follower, scored by a named judge. */
  online?: OnlineJob;
  /** false: save the new version without activating it (the editor asks the user first). Default true. */
  activate?: boolean;
}

export interface OnlineJob {
  /** Leader prompts x (token ids). */
  prompts: number[][];
  /** Tokens after the draft in the Follower's prompt: its prompt is x, then y, then these. */
  followerSuffix: number[];
  /** A programmatic judge's name (see judges.ts). */
  judge: string;
  maxNewTokens: number;
  temperature: number;
  eos: number[];
}

export type ParentMessage = { type: 'start'; job: TrainJob } | { type: 'cancel' };

export type ErrorKind = 'cancelled' | 'diverged' | 'invalid' | 'failed';

export type WorkerMessage =
  | { type: 'started'; samples: number; heldOut: number }
  | { type: 'progress'; progress: StepProgress }
  | { type: 'eval'; phase: 'before' | 'after'; result: SampleEvalResult }
  | { type: 'winrate'; phase: 'before' | 'after'; value: number }
  | { type: 'checkpoint'; step: number; dir: string }
  | { type: 'done'; version: string; meta: VersionMeta }
  | { type: 'error'; kind: ErrorKind; message: string };
