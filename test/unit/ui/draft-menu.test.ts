// Draft and Refine is hidden while the built-in model is the Leader: it fixes sentences and cannot
// draft. RefinerService sets slhf.leaderIsBuiltIn; every place the command is offered checks it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

test('every menu and keybinding entry of slhf.draftAndRefine requires !slhf.leaderIsBuiltIn', () => {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
  const menus = Object.values(pkg.contributes.menus as Record<string, { command: string; when?: string }[]>).flat();
  const entries = [...menus, ...pkg.contributes.keybindings].filter((e: { command: string }) => e.command === 'slhf.draftAndRefine');
  assert.ok(entries.length >= 3, 'context menu, command palette and keybinding');
  for (const e of entries) assert.match(e.when ?? '', /!slhf\.leaderIsBuiltIn/);
});
