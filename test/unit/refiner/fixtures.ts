// Tiny fixture models for the refiner tests, made once per test file in a temp folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyModel } from '../../../src/models/tiny-models/tiny-model';
import { openSafetensors } from '../../../src/models/safetensors';
import { writeSafetensors } from '../../../src/models/safetensors-writer';
import type { RefineEvent } from '../../../src/refiner/loop';
import type { GeneratedText } from '../../../src/refiner/refiner-settings';

export const TINY = { arch: 'qwen2', tokenizer: 'bytes', layers: 1, hidden: 32, heads: 2, kvHeads: 1, intermediate: 64 } as const;

export function tempRoot(prefix: string): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), `slhf-refiner-${prefix}-`));
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export async function tinyModel(out: string, seed = 1): Promise<string> {
  await makeTinyModel({ ...TINY, out, seed });
  return out;
}

/**
 * A model whose final norm is zero, so every logit is 0: greedy decoding repeats token 0 whatever the
 * prompt, which makes the second refinement round return the first round's text (a fixed point).
 */
export async function constantModel(out: string): Promise<string> {
  await makeTinyModel({ ...TINY, out, seed: 2 });
  const reader = await openSafetensors(join(out, 'model.safetensors'));
  const tensors = [];
  for (const name of reader.names()) {
    const data = await reader.readFloat32(name);
    if (name === 'model.norm.weight') data.fill(0);
    tensors.push({ name, dtype: 'F32' as const, shape: reader.info(name).shape, data });
  }
  await reader.close();
  await writeSafetensors(join(out, 'model.safetensors'), tensors, { format: 'pt' });
  return out;
}

export async function collect(events: AsyncIterable<RefineEvent>): Promise<RefineEvent[]> {
  const out: RefineEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

export function results(events: RefineEvent[]): GeneratedText[] {
  return events.flatMap((e) => (e.type === 'round-end' ? [e.result] : []));
}
