// The store's public surface, for the UI, the trainer and the CLI.
export * from './schema';
export { SchemaError, validateRecord } from './validate';
export { upgradeRecord, type SessionRecordV1 } from './migrate';
export { StoreError, storeIoError, type StoreErrorCode } from './errors';
export { createLogger, type Logger, type LogLevel } from './logger';
export type { FsLayer } from './fsLayer';
export { PreferenceStore, resolveStorePath, STORE_FILE_NAME, type NewSession, type PutManyResult, type StoreOptions, type StoreWarning } from './store';
export { pairsOf, sessionPairs, sessionPrompt, type PairSide, type PreferencePair } from './pairs';
export { computeStats, decidedSince, listSessions, type Page, type RateBucket, type SessionQuery, type StoreStats } from './query';
export { exportRows, ImportParser, importedPairId, TRANSFER_FORMATS, type ImportProblem, type TransferFormat } from './transfer';
export { completionText, gameSamples, importedGameSamples, sessionGameSamples, type GameCompletion, type GamePrompt, type GameSample } from './game';
export { sampleSummary, tokenizeGameSamples, trainingSamples, type SampleSummary, type TokenizeOptions, type TrainingSample } from './game-tokens';
export { STACKELBERG_PROMPTS_FORMAT, stackelbergPromptRows, type StackelbergPromptRow } from './stackelberg-export';
