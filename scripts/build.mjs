// Bundles the extension host code, the CLI and the webview with esbuild.
import * as esbuild from 'esbuild';
import { nodeBundle as node } from './bundle-options.mjs';

const watch = process.argv.includes('--watch');
const builds = [
  { ...node, entryPoints: { extension: 'src/extension.ts' }, outdir: 'out' },
  // Generation runs in this process, forked by the extension host (RefinerClient), so it can always be killed.
  { ...node, entryPoints: { 'refiner-worker': 'src/refiner/refiner-worker.ts' }, outdir: 'out' },
  // The review's Harper guard runs in a low-priority process: loading Harper blocks its thread for seconds.
  { ...node, entryPoints: { 'harper-worker': 'src/ui/inline-guard-worker.ts' }, outdir: 'out' },
  // Training runs in its own process, so a crash or out-of-memory there cannot take VS Code down.
  { ...node, entryPoints: { 'train-worker': 'src/training/worker.ts' }, outdir: 'out' },
  // The CLI is run directly as a bin.
  { ...node, entryPoints: { cli: 'src/cli.ts' }, outdir: 'out', banner: { js: '#!/usr/bin/env node' } },
  { bundle: true, platform: 'browser', format: 'iife', target: 'es2022', sourcemap: true, logLevel: 'warning',
    entryPoints: { panel: 'webview/panel.ts' }, outdir: 'out/webview', loader: { '.css': 'css', '.ttf': 'file' } },
];

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
  console.log('esbuild: watching');
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
