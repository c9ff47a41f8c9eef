// Whether the Leader trains with the Follower, and whether it drafts with the trained adapter. The
// paper's default is one model with one shared adapter playing both roles; that is only possible
// when the Leader is the Follower's base model. Pure (no vscode import), so it is unit-tested.

/** The model settings this depends on: the SPECs as the user wrote them ('' for an unset Leader). */
export interface RoleSpecs {
  readonly leader: string;
  readonly follower: string;
}

/** The Leader is the Follower's base model: no Leader set (the Follower's base drafts), or the same SPEC. */
export function leaderSharesFollowerBase(specs: RoleSpecs): boolean {
  return specs.leader === '' || specs.leader === specs.follower;
}

/** What a training run does with the Leader, from `slhf.training.leader` and the models. */
export type LeaderPlan = 'shared' | 'off' | 'different-model';

export function leaderPlan(trainLeader: boolean, specs: RoleSpecs): LeaderPlan {
  if (!trainLeader) return 'off';
  return leaderSharesFollowerBase(specs) ? 'shared' : 'different-model';
}

/** The sentence the user sees about the Leader before and after a run. */
export function describeLeaderPlan(plan: LeaderPlan): string {
  switch (plan) {
    case 'shared': return 'The Leader trains too, sharing one adapter with the Follower; Draft and Refine then drafts with it.';
    case 'off': return 'Only the Follower trains (slhf.training.leader is off); the Leader drafts with its base model.';
    case 'different-model': return 'Only the Follower trains: the Leader is a different model (slhf.leader.model), so it stays frozen.';
  }
}

/** The parts of a version's meta.json read here (src/training/versions.ts writes it). */
export interface TrainedVersion {
  readonly settings: Readonly<Record<string, unknown>>;
}

/** The active version: its folder, its meta, and the Leader's own adapter folder when it was trained separately. */
export interface ActiveVersion {
  readonly dir: string;
  readonly meta: TrainedVersion;
  readonly separateLeaderDir: string | null;
}

/**
 * The adapter folder the Leader drafts with, when the active version trained the Leader and the
 * Leader is still the Follower's base model: the Leader's own adapter (separate adapters), else the
 * shared one. Otherwise null: the base Leader drafts.
 */
export function leaderAdapterDir(active: ActiveVersion | null, specs: RoleSpecs): string | null {
  if (!active || active.meta.settings.trainLeader !== true || !leaderSharesFollowerBase(specs)) return null;
  return active.separateLeaderDir ?? active.dir;
}
