// The extensionTestsPath entry of bench/activation.bench.ts: VS Code calls run() inside a freshly
// started extension host, before anything has activated the extension under measurement.
import { readFileSync, writeFileSync } from 'node:fs';
import * as vscode from 'vscode';

/** What one cold start measured; the bench reads it from the file named by SLHF_BENCH_REPORT. */
export interface ActivationReport {
  activateMs: number;
  /** Modules or mapped libraries of ONNX Runtime / transformers.js present after activation. */
  heavy: string[];
  /** Size of require.cache, to show the probe could see loaded modules at all. */
  cachedModules: number;
}

const settleMs = 1500;
const heavyModule = /onnxruntime|@huggingface[\\/]transformers/;

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: this entry is run by bench/activation.bench.ts`);
  return value;
}

export async function run(): Promise<void> {
  const id = required('SLHF_BENCH_EXTENSION_ID');
  const extension = vscode.extensions.getExtension(id);
  if (!extension) throw new Error(`${id} is not loaded in this extension host`);
  // Something else activating it first would make the timing below measure nothing.
  if (extension.isActive) throw new Error(`${id} was already active before the measurement`);
  // The host is still activating built-in extensions when it calls us; activate() would queue
  // behind them. Users run our first command after startup, so measure on a settled host.
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  const start = performance.now();
  await extension.activate();
  const activateMs = performance.now() - start;
  const heavy = Object.keys(require.cache).filter((path) => heavyModule.test(path));
  if (process.platform === 'linux') {
    heavy.push(...readFileSync('/proc/self/maps', 'utf8').split('\n').filter((line) => /onnxruntime/.test(line)));
  }
  const report: ActivationReport = { activateMs, heavy, cachedModules: Object.keys(require.cache).length };
  writeFileSync(required('SLHF_BENCH_REPORT'), JSON.stringify(report));
}
