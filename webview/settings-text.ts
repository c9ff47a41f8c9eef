// The Models tab's line on the model settings: the value in force in this window and the settings
// scope it comes from (a User value may not apply in a remote window; a workspace value shadows it).
// Pure, unit-tested.
import type { PanelSettings } from '../src/ui/panel-protocol';
import type { SettingSource } from '../src/ui/model-picker-scope';

const FROM: Record<SettingSource, string> = { default: 'default', user: 'user settings', workspace: 'workspace settings', folder: 'folder settings' };

export function settingsText(s: Pick<PanelSettings, 'followerModel' | 'followerSource' | 'leaderModel' | 'leaderSource' | 'device'>): string {
  const follower = s.followerModel
    ? `${s.followerModel} (from the ${FROM[s.followerSource]})`
    : s.leaderModel ? `${s.leaderModel} (the Leader's: slhf.follower.model is empty)` : `the built-in tiny demo model (${s.followerSource === 'default' ? 'the default' : `empty in the ${FROM[s.followerSource]}`})`;
  const leader = s.leaderModel ? `${s.leaderModel} (from the ${FROM[s.leaderSource]})` : 'the Follower\'s base model (slhf.leader.model is empty)';
  return `Settings in force: Follower ${follower}; Leader ${leader}; device ${s.device}.`;
}
