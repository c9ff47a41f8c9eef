// `slhf train --no-activate` (issue 19): the editor offers a new version with its evaluation instead of
// switching to it silently, so its run must save the version and leave active.json alone, even when
// the version was evaluated (which would otherwise activate it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { listVersions, readActive, readMeta } from '../../../src/training/versions';
import { cli, decisionRecords, type TinyFixture, tinyFixture, storeWith } from './fixtures';

let f: TinyFixture;
before(async () => {
  f = await tinyFixture();
});
after(() => f.cleanup());

test('--no-activate saves an evaluated version without activating it; without the flag the next run activates', async () => {
  const storeDir = join(f.dir, 'store');
  await storeWith(storeDir, decisionRecords(20));
  const out = join(f.dir, 'out');
  const saved = await cli('train', '--store', storeDir, '--follower', f.modelDir, '--out', out, '--steps', '2', '--lora-r', '4', '--no-activate');
  assert.equal(saved.code, 0, saved.stderr);
  assert.equal(typeof readMeta(out, 'v0001').metrics.heldOutAccuracy, 'number', 'the version was evaluated');
  assert.match(saved.stdout, /^saved \(--no-activate\) v0001 in /);
  assert.equal(readActive(out), null);
  const activated = await cli('train', '--store', storeDir, '--follower', f.modelDir, '--out', out, '--steps', '2', '--lora-r', '4');
  assert.equal(activated.code, 0, activated.stderr);
  assert.deepEqual(listVersions(out), ['v0001', 'v0002']);
  assert.equal(readActive(out)?.version, 'v0002');
});
