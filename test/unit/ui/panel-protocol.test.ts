// The side panel's message validation: only the exact message shapes pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { panelCommands, parsePanelMessage } from '../../../src/ui/panelProtocol';

test('valid panel messages are accepted as they are', () => {
  assert.deepEqual(parsePanelMessage({ type: 'ready' }), { type: 'ready' });
  for (const command of panelCommands) {
    assert.deepEqual(parsePanelMessage({ type: 'runCommand', command }), { type: 'runCommand', command });
  }
});

test('anything else is rejected', () => {
  const invalid: unknown[] = [
    undefined, null, 'ready', 42, [], ['ready'], {},
    { type: 'unknown' },
    { type: 'ready', extra: 1 },
    { type: 'runCommand' },
    { type: 'runCommand', command: 'slhf.refineSelection' }, // a real command, but not one the panel may run
    { type: 'runCommand', command: 'workbench.action.terminal.new' },
    { type: 'runCommand', command: 'slhf.trainFollower', args: ['x'] },
    { type: 'runCommand', command: { toString: () => 'slhf.trainFollower' } },
  ];
  for (const message of invalid) assert.equal(parsePanelMessage(message), undefined, JSON.stringify(message));
});
