// In-host tests: they run inside code-server's extension host with the real vscode API, against the
// extension loaded from extensionDevelopmentPath. The harness opens an untrusted workspace whose
// .vscode/settings.json tries to set model paths.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import * as vscode from 'vscode';
import type { SlhfExtensionApi } from '../../../src/extension';
import { test } from './runner';

const extensionId = 'slhf-refine.slhf-refine';
const expectedCommands = [
  'slhf.refineSelection', 'slhf.trySample', 'slhf.draftAndRefine', 'slhf.acceptRefinement', 'slhf.rejectRefinement',
  'slhf.previousRound', 'slhf.nextRound', 'slhf.retryRefinement', 'slhf.acceptChange', 'slhf.rejectChange', 'slhf.showReviewDiff', 'slhf.cancelRefinement',
  'slhf.showHistory', 'slhf.exportHistory', 'slhf.trainFollower', 'slhf.selectModels', 'slhf.installCudaSupport',
];

function extension(): vscode.Extension<SlhfExtensionApi> {
  const found = vscode.extensions.getExtension<SlhfExtensionApi>(extensionId);
  assert.ok(found, `${extensionId} is not loaded`);
  return found;
}

/** Modules, native libraries and open files that would mean ONNX Runtime or a model got loaded. */
function heavyThingsLoaded(): string[] {
  const heavy = /onnxruntime|@huggingface[\\/]transformers|\.onnx$|\.safetensors$|\.gguf$/;
  const found = Object.keys(require.cache).filter((path) => heavy.test(path));
  if (process.platform === 'linux') {
    found.push(...readFileSync('/proc/self/maps', 'utf8').split('\n').filter((line) => /onnxruntime/.test(line)));
    // Open files: a model being read shows up here.
    for (const fd of readdirSync('/proc/self/fd')) {
      try {
        const target = readlinkSync(`/proc/self/fd/${fd}`);
        if (heavy.test(target)) found.push(target);
      } catch {
        // Closed while we looked.
      }
    }
  }
  return found;
}

test('the extension activates and returns its API', async () => {
  const api = await extension().activate();
  assert.ok(extension().isActive);
  assert.equal(typeof api.whenPanelResolved, 'function');
});

test('activation loads no model and no ONNX Runtime', () => {
  // The probe itself must be able to see a loaded module: this test file is in require.cache.
  assert.ok(Object.keys(require.cache).length > 0, 'require.cache is empty, so the check below would prove nothing');
  assert.deepEqual(heavyThingsLoaded(), []);
});

test('the manifest contributes exactly the SLHF commands, and activation registers each', async () => {
  const contributed = (extension().packageJSON.contributes.commands as { command: string; category?: string; title: string }[]);
  assert.deepEqual(contributed.map((c) => c.command).sort(), [...expectedCommands].sort());
  // The palette shows "SLHF: <title>" for each; context menus show the title alone, so those carry the prefix themselves.
  assert.ok(contributed.every((c) => (c.category === 'SLHF') !== c.title.startsWith('SLHF: ')), 'every command reads "SLHF: ..." exactly once');
  const contextMenu = extension().packageJSON.contributes.menus['editor/context'] as { command: string }[];
  for (const item of contextMenu) assert.match(contributed.find((c) => c.command === item.command)!.title, /^SLHF: /);
  const registered = new Set(await vscode.commands.getCommands(true));
  assert.deepEqual(expectedCommands.filter((id) => !registered.has(id)), []);
});

test('activation is declared only for its own commands and views', () => {
  const events = (extension().packageJSON.activationEvents ?? []) as string[];
  assert.ok(!events.includes('*'), 'activates on *');
  assert.ok(events.every((event) => /^(onCommand:slhf\.|onView:slhf\.)/.test(event)), `unexpected activation events: ${events.join(', ')}`);
});

test('review commands without a review answer honestly and load nothing heavy', async () => {
  for (const id of ['slhf.acceptRefinement', 'slhf.rejectRefinement', 'slhf.previousRound', 'slhf.nextRound', 'slhf.retryRefinement']) {
    const outcome = await vscode.commands.executeCommand<{ command: string; ok: boolean; message: string }>(id);
    assert.equal(outcome.command, id);
    assert.equal(outcome.ok, false);
    assert.match(outcome.message, /No refinement is being reviewed/);
  }
  const cancel = await vscode.commands.executeCommand<{ ok: boolean; message: string }>('slhf.cancelRefinement');
  assert.match(cancel.message, /No refinement is running/);
  assert.deepEqual(heavyThingsLoaded(), []);
});

test('the getting-started walkthrough starts on the built-in model, ends on training, and each step ticks when done', () => {
  const walkthroughs = extension().packageJSON.contributes.walkthroughs as { id: string; steps: { id: string; description: string; media: { markdown: string }; completionEvents?: string[] }[] }[];
  assert.equal(walkthroughs[0].id, 'slhf.gettingStarted');
  const steps = walkthroughs[0].steps;
  assert.deepEqual(steps.map((s) => s.id), ['try', 'review', 'models', 'training']);
  assert.match(steps[0].description, /command:slhf\.trySample/);
  for (const step of steps) {
    assert.ok(step.completionEvents?.length, `step ${step.id} never ticks`);
    const page = readFileSync(vscode.Uri.joinPath(extension().extensionUri, step.media.markdown).fsPath, 'utf8');
    assert.doesNotMatch(page, /no built-in default model/i);
  }
});

test('the SLHF panel view is registered and resolves when shown', async () => {
  const views = extension().packageJSON.contributes.views.slhf as { id: string; type: string }[];
  assert.deepEqual(views.map((v) => [v.id, v.type]), [['slhf.panel', 'webview']]);
  // A single view is titled "<container>: <view>" unless both names are equal ("SLHF: SLHF Refine" before).
  const container = (extension().packageJSON.contributes.viewsContainers.activitybar as { id: string; title: string }[]).find((c) => c.id === 'slhf');
  assert.equal(container?.title, (views[0] as { name?: string }).name);
  await vscode.commands.executeCommand('slhf.panel.focus');
  await extension().exports.whenPanelResolved();
});

test('settings have their documented defaults', () => {
  const config = vscode.workspace.getConfiguration('slhf');
  const defaults = Object.fromEntries(
    ['leader.model', 'follower.model', 'device', 'refine.rounds', 'refine.maxNewTokens', 'refine.temperature', 'followerInstruction', 'modelCacheDir']
      .map((key) => [key, config.inspect(key)?.defaultValue]),
  );
  assert.equal(defaults.followerInstruction, 'Improve the previous answer. Phrase it as if it was the original response.');
  assert.equal(defaults.device, 'auto');
  assert.equal(defaults['leader.model'], '');
  assert.ok(Number.isInteger(defaults['refine.rounds']) && (defaults['refine.rounds'] as number) >= 1);
  assert.ok(Number.isInteger(defaults['refine.maxNewTokens']));
  // Unset, so that each model's generation_config.json decides (the built-in model asks for greedy).
  assert.equal(defaults['refine.temperature'], null);
  const device = extension().packageJSON.contributes.configuration.properties['slhf.device'];
  assert.deepEqual(device.enum, ['auto', 'cpu', 'cuda', 'dml', 'coreml', 'webgpu']);
});

test('in an untrusted workspace, model paths come only from user settings', () => {
  assert.equal(vscode.workspace.isTrusted, false, 'the harness should open an untrusted workspace');
  const restricted = extension().packageJSON.capabilities.untrustedWorkspaces.restrictedConfigurations as string[];
  assert.ok(['slhf.leader.model', 'slhf.follower.model'].every((key) => restricted.includes(key)), `restricted: ${restricted.join(', ')}`);
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'no workspace folder open');
  const workspaceSettings = JSON.parse(readFileSync(vscode.Uri.joinPath(folder.uri, '.vscode', 'settings.json').fsPath, 'utf8')) as Record<string, unknown>;
  const keys = Object.keys(workspaceSettings);
  // Precondition: the workspace tries to set restricted settings and at least one harmless one.
  assert.ok(keys.some((key) => restricted.includes(key)) && keys.some((key) => !restricted.includes(key)));
  const config = vscode.workspace.getConfiguration();
  for (const key of keys) {
    // The harness's user settings name the fixture model; the workspace's value must not win.
    const inspected = config.inspect(key);
    if (restricted.includes(key)) assert.equal(config.get(key), inspected?.globalValue ?? inspected?.defaultValue, `${key} was taken from the untrusted workspace`);
    else assert.equal(config.get(key), workspaceSettings[key], `${key} should still come from the workspace`);
  }
});

test('editor context menu and keybindings offer refining when text is selected', () => {
  const contributes = extension().packageJSON.contributes;
  const menu = contributes.menus['editor/context'] as { command: string; when: string }[];
  assert.ok(menu.some((item) => item.command === 'slhf.refineSelection' && /editorTextFocus/.test(item.when)));
  const title = contributes.menus['editor/title'] as { command: string; when: string }[];
  for (const id of ['slhf.acceptRefinement', 'slhf.rejectRefinement', 'slhf.previousRound', 'slhf.nextRound', 'slhf.retryRefinement']) {
    assert.ok(title.some((item) => item.command === id && /slhf\.reviewActive/.test(item.when)), `${id} is not in the diff editor's title bar`);
  }
  const keys = contributes.keybindings as { command: string; key: string }[];
  for (const id of ['slhf.refineSelection', 'slhf.acceptRefinement', 'slhf.rejectRefinement', 'slhf.previousRound', 'slhf.nextRound', 'slhf.retryRefinement']) {
    assert.ok(keys.some((binding) => binding.command === id && binding.key), `${id} has no keybinding`);
  }
});
