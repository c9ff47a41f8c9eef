// The training layer's public API (the CLI and the UI import from here).
export { KL_ESTIMATORS, klEstimate, importanceWeights, termCoefficients, type KlEstimator, type ObjectiveSettings, type Role } from './objective';
export { splitPairs, validatePair, validateSample, TrainingInputError, type FollowerReference, type Sample, type TokenSide, type TrainingPair } from './data';
export { DEFAULT_TRAIN_SETTINGS, resolveSettings, learningRate, type LrSchedule, type TrainSettings } from './settings';
export { Policy, type PolicyOptions } from './policy';
export { trainSamples, trainEpochs, slhfObjective, zeroAdapter, TrainingCancelledError, TrainingDivergedError, type StepObjective, type StepProgress, type TrainResult } from './trainer';
export { evaluatePairs, evaluateSamples, type EvalResult, type SampleEvalResult } from './evaluate';
export { startTraining, defaultWorkerEntry, type RunOutcome, type TrainingRun, type WorkerEntry } from './process';
export type { OnlineJob, TrainJob, WorkerMessage, ParentMessage } from './protocol';
export { activate, activeAdapterDir, listVersions, readActive, readMeta, rollback, saveVersion, loadVersion, type VersionMeta, type ActivePointer, type ImportedProvenance } from './versions';
export { importAdapterVersion, type ImportBase, type AdapterImportOptions } from './adapter-import';
export { trainOnline, followerWinRate, type Judge, type JudgeInput, type OnlineTask } from './online';
export { JUDGES, judgeByName, tokenSetJudge } from './judges';
export { harperJudge, harperPreference, UNPROMPTED_CHANGE_PENALTY } from './harper';
export { editDistance, keptWords, splitWords, type Word } from './word-edits';
export { Sampler, type SampleSettings } from './sampler';
export { trainSft, sftObjective, meanTargetLogprob, validateSftExample, type SftExample } from './sft';
export { applyCorruption, corrupt, makeRefinementPairs, CORRUPTION_KINDS, MISSPELLINGS, type Corrupted, type CorruptionKind, type PairOptions, type RefinementPair } from './corruption';
export { fixMetrics, type FixMetrics, type KindFixes, type RefineFn } from './fix-metrics';
