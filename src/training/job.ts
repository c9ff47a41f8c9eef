// One training run, start to finish, inside the training process: load the model, evaluate the
// starting adapter, train (offline on logged pairs, or online against a judge), evaluate, save a
// new version and only then activate it, and only when it was evaluated (activation.ts).
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { baseModelIdentity } from '../models/base-identity';
import { openCheckpoint } from '../models/checkpoint';
import { loadDecoderWeights } from '../models/export';
import { initLoraAdapter, type LoraAdapter } from '../models/lora';
import { loadPeftAdapter, savePeftAdapter } from '../models/peft';
import { writeSafetensors } from '../models/safetensors-writer';
import type { AdamW } from '../onnx';
import { notActivatedReason } from './activation';
import { TrainingInputError, validateSample } from './data';
import { evaluateSamples } from './evaluate';
import { loadJudge } from './judges';
import { followerWinRate, trainOnline, type OnlineTask } from './online';
import { Policy } from './policy';
import type { TrainJob, WorkerMessage } from './protocol';
import { Sampler } from './sampler';
import { resolveSettings } from './settings';
import { TrainingCancelledError, trainSamples, zeroAdapter, type TrainHooks } from './trainer';
import { activate, discardVersion, LEADER_ADAPTER_DIR, readMeta, saveVersion, writeDirAtomic, type VersionMeta } from './versions';

/** Writes the adapter and optimizer moments; the previous checkpoint goes only once the new one is complete. */
async function writeCheckpoint(runDir: string, adapter: LoraAdapter, optimizer: AdamW): Promise<string> {
  const target = join(runDir, 'checkpoint');
  await writeDirAtomic(`${target}-new`, async (dir) => {
    await savePeftAdapter(dir, adapter);
    const state = optimizer.state();
    const moments = Object.entries(state.m).flatMap(([name, m]) => [
      { name: `m.${name}`, dtype: 'F32' as const, shape: [m.length], data: m },
      { name: `v.${name}`, dtype: 'F32' as const, shape: [m.length], data: state.v[name] },
    ]);
    await writeSafetensors(join(dir, 'optimizer.safetensors'), moments, { step: String(state.step) });
  });
  if (existsSync(target)) rmSync(target, { recursive: true, force: true });
  renameSync(`${target}-new`, target);
  return target;
}

/**
 * The trainer checks for cancellation only before each step; a cancel (Ctrl+C, Cancel, the parent
 * gone) that arrives after the last one must still stop the run before it saves or activates.
 */
function stopIfCancelled(cancelled: () => boolean, when: string): void {
  if (cancelled()) throw new TrainingCancelledError(`training cancelled ${when}; no version was saved or activated`);
}

export async function runJob(job: TrainJob, emit: (m: WorkerMessage) => void, cancelled: () => boolean): Promise<{ version: string; meta: VersionMeta }> {
  const settings = resolveSettings(job.settings);
  const checkpoint = await openCheckpoint(job.modelDir, { requireTokenizer: false });
  const config = checkpoint.config;
  let start: LoraAdapter;
  let leaderStart: LoraAdapter | undefined;
  let policy: Policy;
  let sampler: Sampler | null = null;
  try {
    job.samples.forEach((x, i) => validateSample(x, config.vocabSize, `${i}`));
    job.heldOut.forEach((x, i) => validateSample(x, config.vocabSize, `held-out ${i}`));
    if (job.samples.length === 0 && !job.online) throw new TrainingInputError('no training samples');
    start = job.startFrom ? await loadPeftAdapter(job.startFrom, config) : initLoraAdapter(config, settings.lora, settings.seed);
    settings.lora = { ...start.config, dropout: settings.lora.dropout };
    // Separate adapters continue the Leader from its own folder in the active version, when it has one.
    const leaderDir = job.startFrom ? join(job.startFrom, LEADER_ADAPTER_DIR) : null;
    if (settings.separateAdapters && settings.trainLeader && leaderDir && existsSync(leaderDir)) leaderStart = await loadPeftAdapter(leaderDir, config);
    const weights = await loadDecoderWeights(checkpoint);
    policy = await Policy.create(config, weights, { lora: settings.lora, intraOpThreads: settings.intraOpThreads, dropoutSeed: settings.seed, device: settings.device });
    if (job.online) sampler = await Sampler.create(config, weights, settings.lora, settings.intraOpThreads, settings.device);
  } finally {
    await checkpoint.close();
  }
  try {
    emit({ type: 'started', samples: job.samples.length, heldOut: job.heldOut.length });
    const base = zeroAdapter(start);
    const evaluate = (adapter: LoraAdapter) => evaluateSamples(policy, job.heldOut, policy.adapterFeeds(adapter), policy.adapterFeeds(base));
    const before = await evaluate(start);
    emit({ type: 'eval', phase: 'before', result: before });
    let task: OnlineTask | null = null;
    let winRateBefore: number | null = null;
    if (job.online && sampler) {
      const { followerSuffix, judge, prompts, maxNewTokens, temperature, eos } = job.online;
      task = { prompts, followerPrompt: (x, y) => [...x, ...y, ...followerSuffix], judge: await loadJudge(judge, job.modelDir), sampling: { maxNewTokens, temperature, eos } };
      winRateBefore = await followerWinRate(sampler, task, base, start, settings.seed);
      emit({ type: 'winrate', phase: 'before', value: winRateBefore });
    }
    const runDir = join(job.outRoot, 'runs', `run-${Date.now()}-${process.pid}`);
    const trainHooks: TrainHooks = {
      onStep: (progress) => emit({ type: 'progress', progress }),
      cancelled,
      onCheckpoint: async (adapter, optimizer, step) => emit({ type: 'checkpoint', step, dir: await writeCheckpoint(runDir, adapter, optimizer) }),
    };
    const result = task && sampler
      ? await trainOnline(policy, sampler, task, settings, trainHooks, start, leaderStart)
      : await trainSamples(policy, job.samples, settings, trainHooks, start, leaderStart);
    stopIfCancelled(cancelled, 'after the last step');
    const after = await evaluate(result.adapter);
    emit({ type: 'eval', phase: 'after', result: after });
    let winRate: number | null = null;
    if (task && sampler) {
      winRate = await followerWinRate(sampler, task, base, result.adapter, settings.seed);
      emit({ type: 'winrate', phase: 'after', value: winRate });
    }
    stopIfCancelled(cancelled, 'before saving');
    const version = await saveVersion(job.outRoot, result.adapter, {
      baseModel: job.baseModel ?? null,
      base: baseModelIdentity(job.baseModel ?? job.modelDir, job.modelDir),
      data: { trainPairs: job.records.train, heldOutPairs: job.records.heldOut, samples: result.samples },
      metrics: {
        heldOutAccuracyBefore: before.accuracy, heldOutAccuracy: after.accuracy, heldOutKl: after.kl, winRateBefore, winRate,
        steps: result.steps, skippedSteps: result.skippedSteps, finalLoss: result.last?.loss ?? null, finalKl: result.last?.kl ?? null,
      },
      settings: { ...settings, mode: task ? 'online' : 'offline', judge: job.online?.judge ?? null, startFrom: job.startFrom ?? null, temperature: job.online?.temperature ?? null },
    }, result.leaderAdapter);
    if (cancelled()) {
      // Saved but never active: it goes again, so a cancelled run leaves the folder as it found it.
      discardVersion(job.outRoot, version);
      throw new TrainingCancelledError(`training cancelled while ${version} was saved; it was removed and nothing was activated`);
    }
    const meta = readMeta(job.outRoot, version);
    // Nothing measured it (no held-out pair, no judge): kept for the user to activate, never made active silently.
    if (job.activate !== false && notActivatedReason(meta) === null) activate(job.outRoot, version);
    rmSync(runDir, { recursive: true, force: true });
    return { version, meta };
  } finally {
    await policy.release();
    await sampler?.release();
  }
}
