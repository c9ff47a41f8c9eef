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
