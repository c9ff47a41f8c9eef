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

// Lower layers never import upper ones: base -> onnx -> models -> (refiner, training, store) -> ui/extension.
// src/base is the floor (files, processes, downloads, records): it imports nothing of ours.
const rank: Record<string, number> = { base: 0, onnx: 1, models: 2, refiner: 3, training: 3, store: 3, ui: 4 };

/** The files under src/ that `file` (a path under src/) imports, as paths under src/ without extension. */
function localImports(file: string): string[] {
  return importedModules(readFileSync(join(root, 'src', file), 'utf8'))
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => relative(join(root, 'src'), join(root, 'src', file, '..', spec)).split('\\').join('/'));
}

test('each layer imports only from layers below it', () => {
  const violations: string[] = [];
  for (const file of sources(join(root, 'src'))) {
    const rel = relative(join(root, 'src'), file).split('\\').join('/');
    const layer = rel.split('/')[0];
    if (!(layer in rank)) continue;
    for (const target of localImports(rel)) {
      const targetLayer = target.split('/')[0];
      if (target.startsWith('..') || targetLayer === layer) continue;
      const targetRank = targetLayer in rank ? rank[targetLayer] : Infinity; // cli.ts, extension.ts: top
      if (targetRank >= rank[layer]) violations.push(`${rel} imports ${target}`);
    }
  }
  assert.deepEqual(violations, []);
});

test('the store uses the ML stack only for prompts and tokenizer types, never for I/O', () => {
  // Locks, atomic writes and process checks come from src/base; what is left below is what a
  // decision means for a model: how its prompt was rendered and how it tokenizes.
  const allowed = new Set(['models/prompts', 'models/tokenizer']);
  const used = new Set<string>();
  for (const file of sources(join(root, 'src', 'store'))) {
    const rel = relative(join(root, 'src'), file).split('\\').join('/');
    for (const target of localImports(rel)) if (/^(onnx|models)\//.test(target)) used.add(target);
  }
  assert.deepEqual([...used].filter((target) => !allowed.has(target)), []);
  assert.ok(used.has('models/prompts'), 'the allow-list names what the store really imports');
});

// Experiment code stands above the product, in one direction: src/ <- lab/ <- bench/ <- recipes/.
// lab/ holds what both the benches and the recipes need (the fortune corpus, the corruptions, the
// Follower's prompt, the SFT, full-parameter and DPO trainers); the product never imports it. A
// recipe may use a bench (the closed loop measures its model; its training sentences must keep clear
// of the bench's held-out set, bench/default/set.ts); a bench never uses a recipe.
const mayImport: Record<string, readonly string[]> = {
  src: ['src'],
  lab: ['src', 'lab'],
  bench: ['src', 'lab', 'bench'],
  recipes: ['src', 'lab', 'bench', 'recipes'],
};

test('src/, lab/, bench/ and recipes/ import only the folders below them', () => {
  const violations: string[] = [];
  for (const [folder, allowed] of Object.entries(mayImport)) {
    for (const file of sources(join(root, folder))) {
      const from = relative(root, file).split('\\').join('/');
      for (const spec of importedModules(readFileSync(file, 'utf8'))) {
        if (!spec.startsWith('.')) continue;
        const target = relative(root, join(file, '..', spec)).split('\\').join('/');
        const top = target.split('/')[0];
        if (top in mayImport && !allowed.includes(top)) violations.push(`${from} imports ${spec}`);
      }
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

test('no barrels but the engine API, and the UI does not import that one', () => {
  const files = ['src', 'webview', 'lab', 'bench', 'recipes', 'scripts', 'test'].flatMap((dir) => sources(join(root, dir)));
  const rel = (file: string) => relative(root, file).split('\\').join('/');
  const barrels = files.map(rel).filter((file) => /(^|\/)index\.ts$/.test(file) && file.startsWith('src/'));
  assert.deepEqual(barrels.filter((file) => file !== ENGINE_API), [], 'a barrel besides the engine API');
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
