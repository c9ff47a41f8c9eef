// The extensionTestsPath entry: VS Code calls run() inside the extension host.
import * as vscode from 'vscode';
import './activation.spec';
import './refine.spec';
import './guards.spec';
import './limits.spec';
import { api, closeAllEditors } from './helpers';
import { afterEach, describeOnTimeout, runAll } from './runner';

// The last refinement event, so a test that times out says how far the refinement had got.
let lastEvent = 'none yet';
let watching: vscode.Disposable | undefined;
describeOnTimeout(() => `last refinement event: ${lastEvent}`);

// Whatever a test started is stopped before the next test begins: a refinement left running
// would make every later one fail with "A refinement is already running".
afterEach(async () => {
  const t0 = Date.now();
  const stopped = await (await api()).stopAll();
  await closeAllEditors();
  return stopped.length ? `${stopped.join(', ')} (cleanup ${Date.now() - t0} ms)` : undefined;
});

export async function run(): Promise<void> {
  watching = (await api()).onDidStream((event) => {
    lastEvent = event.type === 'round-start' ? `round-start (${event.role} ${event.round})` : event.type;
  });
  try {
    await runAll();
  } finally {
    watching.dispose();
  }
}
