// The side panel's message validation: only the exact message shapes pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { historyFilters, MAX_SEARCH_LENGTH, messageTab, panelCommands, parsePanelMessage } from '../../../src/ui/panel-protocol';
import { streamMessage } from '../../../src/ui/stream-view';

const id = '0b5d2c9e-3f1a-4c3e-9a57-8d2f61f0a1b2';

test('valid panel messages are accepted as they are', () => {
  const valid: unknown[] = [
    { type: 'ready' },
    ...panelCommands.map((command) => ({ type: 'runCommand', command })),
    ...historyFilters.map((filter) => ({ type: 'queryHistory', text: 'fox', filter })),
    { type: 'queryHistory', text: '', filter: 'all' },
    { type: 'queryHistory', text: 'x'.repeat(MAX_SEARCH_LENGTH), filter: 'all' },
    { type: 'deleteSession', id },
    { type: 'reopenSession', id },
    { type: 'explainSession', id },
    { type: 'activateVersion', version: 'v0001' },
    { type: 'activateVersion', version: 'base' },
    { type: 'rollbackVersion' },
    { type: 'setTrainLeader', value: true },
    { type: 'setTrainLeader', value: false },
  ];
  for (const message of valid) assert.deepEqual(parsePanelMessage(message), message, JSON.stringify(message));
});

test('anything else is rejected', () => {
  const cyclic: Record<string, unknown> = { type: 'ready' };
  cyclic.self = cyclic;
  const invalid: unknown[] = [
    undefined, null, 'ready', 42, [], ['ready'], {}, cyclic,
    { type: 'unknown' },
    { type: 'ready', extra: 1 },
    Object.create({ type: 'ready' }),
    Object.assign(Object.create(null), { type: 'ready' }),
    { type: 'runCommand' },
    { type: 'runCommand', command: 'slhf.refineSelection' }, // a real command, but not one the panel may run
    { type: 'runCommand', command: 'workbench.action.terminal.new' },
    { type: 'runCommand', command: 'slhf.trainFollower', args: ['x'] },
    { type: 'runCommand', command: { toString: () => 'slhf.trainFollower' } },
    { type: 'queryHistory', text: 'x'.repeat(MAX_SEARCH_LENGTH + 1), filter: 'all' },
    { type: 'explainSession', id: '../store' },
    { type: 'explainSession', id, extra: true },
    { type: 'setTrainLeader' },
    { type: 'setTrainLeader', value: 'true' },
    { type: 'setTrainLeader', value: 1 },
    { type: 'setTrainLeader', value: true, section: 'slhf.leader.model' },
    { type: 'queryHistory', text: 'fox', filter: 'everything' },
    { type: 'queryHistory', text: 7, filter: 'all' },
    { type: 'queryHistory', text: 'fox' },
    { type: 'deleteSession', id: '../store.jsonl' },
    { type: 'deleteSession', id: '' },
    { type: 'deleteSession', id: 'a'.repeat(101) },
    { type: 'reopenSession', id: 12 },
    { type: 'reopenSession', id, extra: true },
    { type: 'activateVersion', version: '../../adapters' },
    { type: 'activateVersion', version: 'v1/../x' },
    { type: 'activateVersion' },
    { type: 'rollbackVersion', version: 'v0001' },
  ];
  for (const message of invalid) assert.equal(parsePanelMessage(message), undefined, String(JSON.stringify(message, (k, v) => (k === 'self' ? '[cycle]' : v))));
});

test('an outcome is shown in the tab it was asked from (a training failure is no news on History)', () => {
  assert.equal(messageTab({ type: 'runCommand', command: 'slhf.trainFollower' }), 'training');
  assert.equal(messageTab({ type: 'runCommand', command: 'slhf.exportHistory' }), 'history');
  assert.equal(messageTab({ type: 'runCommand', command: 'slhf.selectModels' }), 'models');
  assert.equal(messageTab({ type: 'deleteSession', id }), 'history');
  assert.equal(messageTab({ type: 'rollbackVersion' }), 'training');
});

test('a failed refinement ends the live view with the reason, not an open "Round 1"', () => {
  assert.deepEqual(streamMessage({ type: 'failed', message: 'out of memory' }), { type: 'stream', phase: 'failed', label: 'The refinement failed: out of memory', text: '' });
});
