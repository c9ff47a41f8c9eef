// The architecture's layering rules, checked on the source text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(__dirname, '..', '..');

function sources(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(sources(path));
    else if (/\.(ts|tsx|mts|cts)$/.test(name)) out.push(path);
  }
  return out;
}

/** Module specifiers a file imports or requires (static, dynamic and type-only). */
export function importedModules(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\bimport\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/g,
    /\bexport\s+(?:type\s+)?[^'";]*?\s+from\s+['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) found.push(m[1]);
  return found;
}

test('importedModules sees every import form', () => {
  const text = `import * as vscode from 'vscode';\nimport type { X } from "vscode";\nconst v = require('vscode');\nawait import('vscode');\nexport { y } from 'vscode';`;
  assert.deepEqual(importedModules(text), ['vscode', 'vscode', 'vscode', 'vscode', 'vscode']);
});

test('only src/extension.ts and src/ui/ import vscode', () => {
  const offenders = sources(join(root, 'src'))
    .map((file) => relative(root, file).split('\\').join('/'))
    .filter((file) => file !== 'src/extension.ts' && !file.startsWith('src/ui/'))
    .filter((file) => importedModules(readFileSync(join(root, file), 'utf8')).includes('vscode'));
  assert.deepEqual(offenders, [], `these files import vscode but live below the UI layer: ${offenders.join(', ')}`);
});

// Lower layers never import upper ones: onnx -> models -> (refiner, training, store) -> ui/extension.
const rank: Record<string, number> = { onnx: 0, models: 1, refiner: 2, training: 2, store: 2, ui: 3 };

test('each layer imports only from layers below it', () => {
  const violations: string[] = [];
  for (const file of sources(join(root, 'src'))) {
    const rel = relative(join(root, 'src'), file).split('\\').join('/');
    const layer = rel.split('/')[0];
    if (!(layer in rank)) continue;
    for (const spec of importedModules(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const target = relative(join(root, 'src'), join(file, '..', spec)).split('\\').join('/');
      const targetLayer = target.split('/')[0];
      if (target.startsWith('..') || targetLayer === layer) continue;
      const targetRank = targetLayer in rank ? rank[targetLayer] : Infinity; // cli.ts, extension.ts: top
      if (targetRank >= rank[layer]) violations.push(`${rel} imports ${spec}`);
    }
  }
  assert.deepEqual(violations, []);
});

// No barrels: a file imports the file that owns what it uses. The extension host then loads only
// what it needs (a layer's index re-exporting everything loads ONNX Runtime with its first import,
// which is why the UI never used the refiner's), and an import line says where a thing lives. The
// one barrel is the engine's API, src/onnx/index.ts: graph building, ops, autodiff, optimizers and
// the runtime, used as one library by the layers that build graphs (in worker processes) and by the
// engine's tests (`import * as E`).
const ENGINE_API = 'src/onnx/index.ts';
/** Barrels nothing imports any more, in folders another change was reworking at the time: delete them, then this list. */
const UNUSED_BARRELS = ['src/store/index.ts', 'src/training/index.ts'];

test('no barrels but the engine API, and the UI does not import that one', () => {
  const files = ['src', 'webview', 'bench', 'recipes', 'scripts', 'test'].flatMap((dir) => sources(join(root, dir)));
  const rel = (file: string) => relative(root, file).split('\\').join('/');
  const barrels = files.map(rel).filter((file) => /(^|\/)index\.ts$/.test(file) && file.startsWith('src/'));
  assert.deepEqual(barrels.filter((file) => file !== ENGINE_API && !UNUSED_BARRELS.includes(file)), [], 'a barrel besides the engine API');
  const violations: string[] = [];
  for (const file of files) {
    const from = rel(file);
    for (const spec of importedModules(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const target = rel(join(file, '..', spec));
      const index = barrels.find((barrel) => barrel === `${target}/index.ts` || barrel === `${target}/index` || barrel === `${target}.ts` && barrel.endsWith('/index.ts'));
      if (!index) continue;
      const ui = from === 'src/extension.ts' || from.startsWith('src/ui/') || from.startsWith('webview/');
      if (index !== ENGINE_API || ui) violations.push(`${from} imports ${spec}`);
    }
  }
  assert.deepEqual(violations, []);
});
