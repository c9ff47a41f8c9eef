// "What this decision teaches": the game samples of one stored decision (src/store/game.ts is the
// one home of that mapping) as the Training tab shows them. Pure (no vscode import), unit-tested.
import type { GamePrompt, GameSample } from '../store/game';
import type { DecisionKind } from '../store/schema';
import type { DecisionSample } from './panel-protocol';

/** How much of a prompt's end the panel shows: the text being refined and the instruction are at the end. */
export const PROMPT_EXCERPT_CHARS = 320;

/** A prompt as the model saw it: the recorded rendering, else its messages (nothing was generated from it). */
export function promptText(prompt: GamePrompt): string {
  return prompt.text ?? prompt.messages.map((m) => `${m.role}: ${m.content}`).join('\n');
}

/** The end of `text`, at most `max` characters, marked where it was cut. */
export function excerpt(text: string, max = PROMPT_EXCERPT_CHARS): string {
  return text.length <= max ? text : `…${text.slice(text.length - max + 1)}`;
}

/** `leaderTrains`: whether the next run trains the Leader (its samples are shown either way, marked). */
export function decisionSamples(samples: readonly GameSample[], leaderTrains: boolean): DecisionSample[] {
  return samples.map((s) => ({
    role: s.role, transition: s.transition, prompt: excerpt(promptText(s.prompt)), completion: s.completion.text, score: s.score,
    behaviour: s.completion.logprobs !== null, trains: s.role === 'follower' || leaderTrains,
  }));
}

/** One line above the samples: what the decision says, or why it teaches nothing. */
export function teachingNote(kind: DecisionKind, samples: readonly DecisionSample[]): string {
  if (kind === 'pending') return 'Undecided: this refinement teaches nothing until you accept or reject it.';
  if (samples.length === 0) return 'This decision teaches nothing: the texts it compares are identical.';
  const idle = samples.filter((s) => !s.trains).length;
  const leader = idle > 0 ? ` The ${idle} Leader sample(s) train only with slhf.training.leader on and a Leader that is the Follower's base model.` : '';
  return `${samples.length} game sample(s). Score is what the player gets: 1 - p for the Follower, p for the Leader (p: how likely the text before beats the text after).${leader}`;
}
