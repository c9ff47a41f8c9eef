// The baseline SLHF is compared with: DPO (Rafailov et al. 2023), a Bradley–Terry model of the
// preferences whose reward is the policy's log-ratio to the frozen base, r = beta log(pi / pi_ref).
// Each pair (chosen > rejected) under the Follower's prompt contributes -log sigmoid(beta m), with
// m the difference of the two sides' summed log-ratios. Its gradient is -beta sigmoid(-beta m)
// (grad log pi(chosen) - grad log pi(rejected)): constant per-token coefficients on the shared
// training graph, computed from one probe per micro-batch like SLHF's.
import { initLoraAdapter, type LoraAdapter } from '../src/models/lora';
import { seededRandom } from '../src/base/seeded-random';
import type { Sample, TrainingPair } from '../src/training/data';
import type { Policy } from '../src/training/policy';
import { shuffle, type TrainSettings } from '../src/training/settings';
import { referenceLogprobs, StepRunner, zeroAdapter, type StepObjective, type TrainHooks, type TrainResult } from '../src/training/trainer';

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const logSigmoid = (z: number) => (z >= 0 ? -Math.log1p(Math.exp(-z)) : z - Math.log1p(Math.exp(z)));

/** Micro-batches hold pairs as consecutive (chosen, rejected) samples. */
export function dpoObjective(beta: number, reference: Map<Sample, number[]>): StepObjective {
  return {
    probe: true,
    terms(batch, current, micro) {
      const pairs = micro.reduce((n, b) => n + b.length, 0) / 2;
      const out = [];
      for (let i = 0; i < batch.length; i += 2) {
        const ratio = (j: number) => sum(current![j]) - sum(reference.get(batch[j])!);
        const z = beta * (ratio(i) - ratio(i + 1));
        const weight = (beta * Math.exp(logSigmoid(-z))) / pairs;
        const loss = -logSigmoid(z) / pairs;
        out.push({ coef: batch[i].completion.map(() => -weight), kl: 0, loss });
        out.push({ coef: batch[i + 1].completion.map(() => weight), kl: 0, loss: 0 });
      }
      return out;
    },
  };
}

/** DPO on the Follower's side of logged pairs, with the trainer's step loop, settings and schedule. */
export async function trainDpo(policy: Policy, pairs: TrainingPair[], s: TrainSettings, beta: number, hooks: TrainHooks = {}, start?: LoraAdapter): Promise<TrainResult> {
  const sides = pairs.map((p): [Sample, Sample] => {
    const side = (ids: number[], behaviour: number[] | null, score: number): Sample => ({ role: 'follower', prompt: p.followerPrompt, completion: ids, score, behaviour, referencePrompt: p.followerPrompt });
    return [side(p.chosen.ids, p.chosen.behaviour, 1), side(p.rejected.ids, p.rejected.behaviour, 0)];
  });
  if (sides.length === 0) throw new Error('DPO: no pairs');
  const adapter = start ?? initLoraAdapter(policy.config, s.lora, s.seed);
  const reference = await referenceLogprobs(policy, sides.flat(), policy.adapterFeeds(zeroAdapter(adapter)), s.batchSize);
  const pairsPerBatch = Math.max(1, Math.floor(s.batchSize / 2));
  const totalSteps = s.steps ?? Math.max(1, Math.ceil((s.epochs * Math.ceil(sides.length / pairsPerBatch)) / s.accumulate));
  const runner = new StepRunner(policy, adapter, s, hooks, totalSteps);
  const objective = dpoObjective(beta, reference);
  const rand = seededRandom(s.seed ^ 0xd90);
  let queue: [Sample, Sample][] = [];
  for (let step = 1; step <= totalSteps; step++) {
    const micro: Sample[][] = [];
    for (let a = 0; a < s.accumulate; a++) {
      if (queue.length === 0) queue = shuffle(sides, rand);
      micro.push(queue.splice(0, pairsPerBatch).flat());
    }
    await runner.stepWith(step, 1, micro, objective);
  }
  return { adapter, steps: totalSteps, skippedSteps: runner.skippedSteps, samples: sides.length * 2, last: runner.last };
}
