// The refiner's public API (the UI layer and the CLI import from here).
export { RefinerClient, WorkerCrashedError, type RefinerClientOptions } from './client';
export { ModelHost, type HostOptions, type LoadedModel, type RoleConfig } from './host';
export { DEVICE_SETTINGS, resolveDevice, type DeviceSetting } from './device';
export { refine, roundSeed, type RefineEvent, type RefineRequest } from './loop';
export { isBuiltInModel, type SentenceRound } from './sentence-round';
export { HARPER_MODEL_ID } from './harper-pass';
export { type PieceRound } from './split-round';
export { isGarbled, joinPieces, keepLineEnding, splitSentences, type Piece } from './segment';
export { decodeUtf8Strict, checkText } from './limits';
export {
  DEFAULT_FOLLOWER_INSTRUCTION, PRESETS, presetFor, leaderMessages, followerMessages, renderPrompt,
  type ChatMessage, type Preset,
} from '../models/prompts';
export { DOCUMENT_KINDS, type DocumentKind } from '../base/generation-record';
export type { WorkerConfig } from './protocol';
export {
  DEFAULT_SETTINGS, MAX_NEW_TOKENS, MAX_ROUNDS, RefinerInputError, resolveSettings,
  type GeneratedText, type GenerationSettings, type GenerationTimings, type Role, type SamplingRecord, type StopReason,
} from './settings';
