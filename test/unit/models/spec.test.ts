// A model SPEC that looks like a hub id but names a relative folder (issue 18): a path whose first
// folder exists here is a path, so a typo in it is refused locally instead of being sent to the hub;
// a hub miss says that no such local folder exists either.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelSpecError, resolveModelSpec } from '../../../src/models/spec';

const root = mkdtempSync(join(tmpdir(), 'slhf-spec-'));
const cwd = process.cwd();
after(() => {
  process.chdir(cwd);
  rmSync(root, { recursive: true, force: true });
});

test('a relative model path that does not exist is refused as a missing folder, not taken as a hub id', async () => {
  mkdirSync(join(root, 'models', 'tiny'), { recursive: true });
  process.chdir(root);
  const offline = { offline: true, cacheDir: join(root, 'cache') };
  assert.equal(await resolveModelSpec('models/tiny', offline), join(root, 'models', 'tiny'));
  await assert.rejects(resolveModelSpec('models/tiyn', offline),
    (e: unknown) => e instanceof ModelSpecError && e.message.includes(`No such model folder: ${join(root, 'models', 'tiyn')}`) && /models\/ exists here/.test(e.message));
  // Nothing local by that first name: a hub id, and the hub's refusal says no local folder exists either.
  await assert.rejects(resolveModelSpec('modelz/tiny', offline),
    (e: unknown) => /Offline mode: modelz\/tiny@main/.test((e as Error).message) && (e as Error).message.includes(`no local folder ${join(root, 'modelz', 'tiny')} exists either`));
});
