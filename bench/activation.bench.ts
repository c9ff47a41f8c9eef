// Activation time of the extension in a real VS Code (code-server's extension host), cold: every
// sample is a fresh code-server, so a fresh extension host that has loaded nothing of ours. The
// peer is an empty `activate() {}` extension loaded the same way, so the ratio is what our
// activation costs on top of VS Code's own per-extension overhead. Issue 7 requires that activation
// loads no ONNX Runtime and no model; the bench fails if it finds either after activation.
import * as esbuild from 'esbuild';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../scripts/vscode-harness/code-server';
import { runInExtensionHost } from '../scripts/vscode-harness/host-tests';
import type { ActivationReport } from './activation-host';
import { type BenchContext, type BenchRow, median } from './framework';

const starts = 3;
const startTimeoutMs = 90_000;

interface Candidate {
  label: string;
  folder: string;
  id: string;
}

function extensionId(folder: string): string {
  const manifest = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as { publisher: string; name: string };
  return `${manifest.publisher}.${manifest.name}`;
}

/** The baseline: an extension whose activate() does nothing, with the same engine constraint as ours. */
function writeEmptyExtension(folder: string): void {
  mkdirSync(folder, { recursive: true });
  const ours = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { engines: Record<string, string> };
  writeFileSync(join(folder, 'package.json'), JSON.stringify({
    name: 'empty-baseline', publisher: 'slhf-bench', version: '0.0.1', engines: { vscode: ours.engines.vscode },
    main: './extension.js', activationEvents: [],
  }, null, 2));
  writeFileSync(join(folder, 'extension.js'), 'exports.activate = function activate() {};\nexports.deactivate = function deactivate() {};\n');
}

async function bundleHostEntry(outDir: string): Promise<string> {
  const outfile = join(outDir, 'activation-host.js');
  await esbuild.build({
    entryPoints: [join(__dirname, 'activation-host', 'index.ts')],
    outfile, bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'], logLevel: 'warning',
  });
  return outfile;
}

/** One cold start: a fresh code-server whose extension host runs the entry, which activates `candidate`. */
async function measureOnce(candidate: Candidate, entry: string, workspace: string, scratch: string): Promise<ActivationReport> {
  const reportFile = join(scratch, 'report.json');
  rmSync(reportFile, { force: true });
  const code = await runInExtensionHost({
    workspace, extensionPath: candidate.folder, testsPath: entry, timeoutMs: startTimeoutMs,
    env: { SLHF_BENCH_EXTENSION_ID: candidate.id, SLHF_BENCH_REPORT: reportFile },
  });
  if (code !== 0 || !existsSync(reportFile)) throw new Error(`activating ${candidate.id} failed (exit code ${code})`);
  return JSON.parse(readFileSync(reportFile, 'utf8')) as ActivationReport;
}

export async function run(context: BenchContext): Promise<BenchRow[]> {
  const bundle = join(repoRoot, 'out', 'extension.js');
  if (!existsSync(bundle)) throw new Error('out/extension.js is missing: run `npm run build` first');
  const scratch = mkdtempSync(join(tmpdir(), 'slhf-bench-activation-'));
  try {
    const entry = await bundleHostEntry(scratch);
    const workspace = join(scratch, 'workspace');
    mkdirSync(workspace);
    const baselineFolder = join(scratch, 'empty-extension');
    writeEmptyExtension(baselineFolder);
    const ours: Candidate = { label: 'ours', folder: repoRoot, id: extensionId(repoRoot) };
    const baseline: Candidate = { label: 'empty extension', folder: baselineFolder, id: extensionId(baselineFolder) };
    const samples = new Map<Candidate, ActivationReport[]>([[ours, []], [baseline, []]]);
    // Alternating the two spreads background load over both sides rather than onto one.
    for (let i = 0; i < starts; i++) {
      for (const candidate of [ours, baseline]) {
        const report = await measureOnce(candidate, entry, workspace, scratch);
        context.log(`start ${i + 1}/${starts}, ${candidate.label}: activate() ${report.activateMs.toFixed(1)} ms, ${report.cachedModules} modules cached`);
        samples.get(candidate)!.push(report);
      }
    }
    const heavy = [...new Set(samples.get(ours)!.flatMap((r) => r.heavy))];
    if (heavy.length > 0) throw new Error(`activation loaded ONNX Runtime or transformers.js:\n${heavy.join('\n')}`);
    const times = (c: Candidate): number[] => samples.get(c)!.map((r) => r.activateMs);
    const list = (c: Candidate): string => times(c).map((t) => t.toFixed(1)).join(', ');
    return [
      {
        name: 'activation, cold extension host', ours: median(times(ours)), peer: median(times(baseline)), unit: 'ms',
        note: `median of ${starts} fresh code-server starts each, activate() timed after a 1.5 s settle of the host; peer: an empty activate() {} extension loaded the same way; ours ${list(ours)} ms, peer ${list(baseline)} ms`,
      },
      // The row exists only when the check passed (it throws above), so its figure is the evidence: how many starts were checked.
      {
        name: 'ORT loaded at activation: no', ours: starts, peer: null, unit: 'starts checked',
        note: 'no onnxruntime or @huggingface/transformers module in require.cache, and no onnxruntime library in /proc/self/maps, of the extension host right after activate()',
      },
      { name: 'extension bundle out/extension.js', ours: statSync(bundle).size / 1024, peer: null, unit: 'KiB' },
    ];
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
