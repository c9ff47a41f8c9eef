// Adapter versions against broken and concurrent use: a damaged active.json (a path instead of a
// version name, bad JSON) is a clear error that activation repairs, never a path outside the
// folder; two runs saving into one folder at once each keep their adapter.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initLoraAdapter } from '../../../src/models/lora';
import { activate, activeAdapterDir, listVersions, loadVersion, readActive, readMeta, rollback, saveVersion } from '../../../src/training/versions';
import { tinyFixture } from './fixtures';

const meta = { baseModel: 'tiny', data: { trainPairs: 3, heldOutPairs: 1, samples: 3 }, metrics: { heldOutAccuracy: 0.75 }, settings: { lr: 1e-3 } };

function tempRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'slhf-versions-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

test('a damaged active.json is refused with a message that says how to repair it; activating repairs it', async () => {
  const f = await tinyFixture();
  after(f.cleanup);
  const root = tempRoot();
  const v1 = await saveVersion(root, initLoraAdapter(f.config, { rank: 2, alpha: 4, dropout: 0, targets: ['q'] }, 1), meta);
  const pointer = join(root, 'active.json');
  for (const [content, why] of [
    ['{"version":"../../x","previous":null,"activatedAt":"2026-01-01T00:00:00Z"}', /"version" must be null or a version name like v0001, got "\.\.\/\.\.\/x"/],
    ['{"version":"v0001","previous":"/etc","activatedAt":"2026-01-01T00:00:00Z"}', /"previous" must be null or a version name/],
    ['{"version":', /not valid JSON/],
    ['[1]', /"version"|not a JSON object/],
  ] as const) {
    writeFileSync(pointer, content);
    for (const read of [() => readActive(root), () => activeAdapterDir(root), () => rollback(root)]) {
      assert.throws(read, (err: Error) => why.test(err.message) && err.message.includes(pointer) && /--activate/.test(err.message), content);
    }
  }
  activate(root, v1);
  assert.deepEqual([readActive(root)?.version, readActive(root)?.previous], [v1, null]);
});

test('version names from callers are checked too: no path reaches outside the adapters folder', async () => {
  const root = tempRoot();
  assert.throws(() => readMeta(root, '../../x'), /"\.\.\/\.\.\/x" is not an adapter version name/);
  await assert.rejects(loadVersion(root, '../x', { } as never), /not an adapter version name/);
  assert.throws(() => activate(root, '../x'), /no adapter version/);
});

test('two runs saving into one folder at once: each gets its own version, both adapters kept', async () => {
  const f = await tinyFixture();
  after(f.cleanup);
  const root = tempRoot();
  const a = initLoraAdapter(f.config, { rank: 2, alpha: 4, dropout: 0, targets: ['q'] }, 1);
  const b = initLoraAdapter(f.config, { rank: 2, alpha: 4, dropout: 0, targets: ['q'] }, 2);
  a.pairs[0].b.fill(0.25);
  b.pairs[0].b.fill(-0.5);
  const saved = await Promise.all([saveVersion(root, a, meta), saveVersion(root, b, meta)]);
  assert.deepEqual(saved.slice().sort(), ['v0001', 'v0002']);
  assert.deepEqual(listVersions(root), ['v0001', 'v0002']);
  const back = await Promise.all(saved.map((v) => loadVersion(root, v, f.config)));
  assert.deepEqual([back[0].pairs[0].b[0], back[1].pairs[0].b[0]], [0.25, -0.5]);
  assert.deepEqual(readdirSync(root).sort(), ['adapters'], 'no lock or temp folder left behind');
});
