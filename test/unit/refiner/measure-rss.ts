// Peak resident memory of the refiner's model hosting, one fresh process per scenario:
//   node --import tsx test/unit/refiner/measure-rss.ts [--layers 8 --hidden 1024 --intermediate 2816]
// Scenarios: transformers.js loaded but no model; one model; Leader + Follower on the same base
// (held once); Leader + a Follower with a merged adapter (two models). Not a test: prints numbers.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDecoderConfig } from '../../../src/models/config';
import { makeTinyModel } from '../../../src/models/tiny-models/tiny-model';
import { initLoraAdapter } from '../../../src/models/lora';
import { savePeftAdapter } from '../../../src/models/peft';
import { ModelHost } from '../../../src/refiner/host';
import { refine } from '../../../src/refiner/loop';

const SCENARIOS = ['runtime only', 'one model', 'leader + follower, same base', 'leader + follower with adapter'] as const;

async function scenario(name: string, root: string): Promise<void> {
  const host = new ModelHost({ cacheDir: join(root, 'cache'), idleUnloadMs: 0 });
  const spec = join(root, 'model');
  host.configure({ follower: { spec, adapter: name.includes('adapter') ? join(root, 'adapter') : null } });
  const request = (leaderDraft: boolean) => ({ draft: 'Some text to refine.', leaderDraft, instruction: 'Write.', rounds: 1, settings: { seed: 1, maxNewTokens: 16 } });
  if (name === 'runtime only') await import('@huggingface/transformers');
  else for await (const _ of refine(host, request(name !== 'one model'))) void _;
  const models = host.loadedModels().length;
  const peakMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ name, models, peakMb }) + '\n');
  await host.unloadAll();
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { scenario: { type: 'string' }, root: { type: 'string' }, layers: { type: 'string' }, hidden: { type: 'string' }, intermediate: { type: 'string' } } });
  if (values.scenario) return scenario(values.scenario, values.root!);
  const root = mkdtempSync(join(tmpdir(), 'slhf-rss-'));
  try {
    const shape = { layers: Number(values.layers ?? 8), hidden: Number(values.hidden ?? 1024), heads: 16, kvHeads: 4, intermediate: Number(values.intermediate ?? 2816) };
    await makeTinyModel({ arch: 'qwen2', tokenizer: 'bytes', out: join(root, 'model'), seed: 1, ...shape });
    const config = parseDecoderConfig(JSON.parse(readFileSync(join(root, 'model', 'config.json'), 'utf8')));
    await savePeftAdapter(join(root, 'adapter'), initLoraAdapter(config, { rank: 8, alpha: 16, dropout: 0, targets: ['q', 'v'] }, 1));
    const weightsMb = readFileSync(join(root, 'model', 'model.safetensors')).length / 2 ** 20;
    console.log(`fixture: qwen2 ${JSON.stringify(shape)}, ${weightsMb.toFixed(0)} MB of f32 weights`);
    // Export once up front so every scenario measures loading and generation, not the export.
    const warm = spawnSync(process.execPath, ['--import', 'tsx', __filename, '--scenario', 'leader + follower with adapter', '--root', root], { encoding: 'utf8' });
    if (warm.status !== 0) throw new Error(warm.stderr);
    for (const name of SCENARIOS) {
      const run = spawnSync(process.execPath, ['--import', 'tsx', __filename, '--scenario', name, '--root', root], { encoding: 'utf8' });
      if (run.status !== 0) throw new Error(run.stderr);
      const r = JSON.parse(run.stdout.trim().split('\n').pop()!);
      console.log(`${name.padEnd(34)} models loaded: ${r.models}  peak RSS: ${r.peakMb.toFixed(0)} MB`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

void main();
