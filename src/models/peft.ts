// LoRA adapters on disk in PEFT's layout (adapter_config.json + adapter_model.safetensors), so an
// adapter trained here loads with `PeftModel.from_pretrained(base, dir)` in Python and vice versa.
import { existsSync, readdirSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../base/atomic-file';
import type { DecoderConfig } from './config';
import { loraSlots, LORA_TARGET_MODULES, LORA_TARGETS, validateLoraConfig, type LoraAdapter, type LoraConfig, type LoraTarget } from './lora';
import { SafetensorsFile, type FloatDtype } from './safetensors';
import { writeSafetensors } from './safetensors-writer';
import { readModelText } from './model-file';
import { PICKLE_PATTERN, type Json } from './checkpoint';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

/** An adapter folder is missing, malformed, uses PEFT features we do not implement, or mismatches the model. */
export class PeftAdapterError extends Error {
  override name = 'PeftAdapterError';
}

/** PEFT's saved name: the PeftModel/LoraModel wrappers prefix `base_model.model.`; the adapter name is dropped. */
export function peftTensorName(module: string, which: 'A' | 'B'): string {
  return `base_model.model.${module}.lora_${which}.weight`;
}

/** The HF module's last name (q_proj, gate_proj, ...), which PEFT's target_modules lists. */
function moduleName(target: LoraTarget): string {
  return LORA_TARGET_MODULES[target].split('.').pop() as string;
}

export function peftAdapterConfigJson(lora: LoraConfig, baseModel: string | null = null): Json {
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    r: lora.rank,
    lora_alpha: lora.alpha,
    lora_dropout: lora.dropout,
    target_modules: lora.targets.map(moduleName),
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    use_rslora: false,
    use_dora: false,
    modules_to_save: null,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
    revision: null,
  };
}

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'object' && Object.keys(value as object).length === 0);
}

/** Reads PEFT's adapter_config.json, refusing the options whose math we do not implement. */
export function parsePeftAdapterConfig(json: unknown, source = ADAPTER_CONFIG): LoraConfig {
  const fail = (why: string) => new PeftAdapterError(`${source}: ${why}`);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail('must hold a JSON object.');
  const c = json as Json;
  if (c.peft_type !== 'LORA') throw fail(`peft_type ${JSON.stringify(c.peft_type)} is not supported (only LORA).`);
  if (c.task_type !== undefined && c.task_type !== null && c.task_type !== 'CAUSAL_LM') throw fail(`task_type ${JSON.stringify(c.task_type)} is not CAUSAL_LM.`);
  const unsupported: Array<[string, boolean]> = [
    ['use_dora', c.use_dora === true],
    ['use_rslora', c.use_rslora === true],
    ['fan_in_fan_out', c.fan_in_fan_out === true],
    ['bias other than "none"', c.bias !== undefined && c.bias !== 'none'],
    ['rank_pattern', !isEmpty(c.rank_pattern)],
    ['alpha_pattern', !isEmpty(c.alpha_pattern)],
    ['layers_to_transform', !isEmpty(c.layers_to_transform)],
    ['modules_to_save', !isEmpty(c.modules_to_save)],
    // Options of newer PEFT versions that change the adapter's math or where it applies.
    ['lora_bias', c.lora_bias === true],
    ['exclude_modules', !isEmpty(c.exclude_modules)],
    ['layer_replication', !isEmpty(c.layer_replication)],
    ['trainable_token_indices', !isEmpty(c.trainable_token_indices)],
    ['target_parameters', !isEmpty(c.target_parameters)],
    ['megatron_config', !isEmpty(c.megatron_config)],
    ['use_qalora', c.use_qalora === true],
    ['alora_invocation_tokens', !isEmpty(c.alora_invocation_tokens)],
    ['use_bdlora', !isEmpty(c.use_bdlora)],
    // These initializations rewrite the base weights too; the adapter alone does not reproduce the model.
    [`init_lora_weights ${JSON.stringify(c.init_lora_weights)}`, typeof c.init_lora_weights === 'string' && /^(pissa|olora|corda|loftq)/i.test(c.init_lora_weights)],
  ];
  const used = unsupported.filter(([, on]) => on).map(([name]) => name);
  if (used.length) throw fail(`uses PEFT options this engine does not implement: ${used.join(', ')}.`);
  let modules = c.target_modules;
  // PEFT's shorthand for every linear layer except the output head.
  if (modules === 'all-linear') modules = LORA_TARGETS.map(moduleName);
  if (!Array.isArray(modules) || !modules.every((m) => typeof m === 'string')) {
    throw fail(`target_modules must be a list of module names (a regex string is not supported), got ${JSON.stringify(c.target_modules)}.`);
  }
  try {
    return validateLoraConfig({
      rank: c.r as number,
      alpha: (c.lora_alpha ?? 8) as number, // PEFT's default lora_alpha
      dropout: (c.lora_dropout ?? 0) as number,
      targets: modules as LoraTarget[], // validateLoraConfig maps q_proj -> q and rejects unknown names
    });
  } catch (err) {
    throw fail((err as Error).message);
  }
}

/** Writes adapter_config.json and adapter_model.safetensors (F32 unless `dtype` says otherwise). */
export async function savePeftAdapter(dir: string, adapter: LoraAdapter, options: { baseModel?: string; dtype?: FloatDtype } = {}): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const dtype = options.dtype ?? 'F32';
  const rank = adapter.config.rank;
  const tensors = adapter.pairs.flatMap((p) => [
    { name: peftTensorName(p.module, 'A'), dtype, shape: [rank, p.inFeatures], data: p.a },
    { name: peftTensorName(p.module, 'B'), dtype, shape: [p.outFeatures, rank], data: p.b },
  ]);
  await writeSafetensors(join(dir, ADAPTER_WEIGHTS), tensors, { format: 'pt' });
  writeFileAtomic(join(dir, ADAPTER_CONFIG), JSON.stringify(peftAdapterConfigJson(adapter.config, options.baseModel ?? null), null, 2) + '\n');
}

/** The adapter folder's adapter_config.json as written (unchecked: parsePeftAdapterConfig checks it). */
export function readPeftAdapterConfigJson(dir: string): unknown {
  const configPath = join(dir, ADAPTER_CONFIG);
  if (!existsSync(configPath)) throw new PeftAdapterError(`${dir} has no ${ADAPTER_CONFIG}; is it a PEFT adapter folder?`);
  let text: string;
  try {
    text = readModelText(configPath);
  } catch (err) {
    throw new PeftAdapterError((err as Error).message);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new PeftAdapterError(`${configPath} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Reads a PEFT LoRA adapter for `config`'s model, checking every tensor's presence and shape. */
export async function loadPeftAdapter(dir: string, config: DecoderConfig): Promise<LoraAdapter> {
  const lora = parsePeftAdapterConfig(readPeftAdapterConfigJson(dir), join(dir, ADAPTER_CONFIG));
  const weightsPath = join(dir, ADAPTER_WEIGHTS);
  if (!existsSync(weightsPath)) {
    const pickles = readdirSync(dir).filter((f) => PICKLE_PATTERN.test(f));
    throw new PeftAdapterError(pickles.length
      ? `${dir} has only pickled adapter weights (${pickles.join(', ')}); loading pickle files can run arbitrary code, so they are refused. Save the adapter with safe_serialization=True.`
      : `${dir} has no ${ADAPTER_WEIGHTS}.`);
  }
  const file = await SafetensorsFile.open(weightsPath);
  try {
    const slots = loraSlots(config, lora);
    const expected = new Set(slots.flatMap((s) => [peftTensorName(s.module, 'A'), peftTensorName(s.module, 'B')]));
    const unexpected = file.names().filter((n) => !expected.has(n));
    if (unexpected.length) {
      throw new PeftAdapterError(`${weightsPath} has tensors this model/config does not expect: ${unexpected.slice(0, 4).join(', ')}${unexpected.length > 4 ? ', ...' : ''}.`);
    }
    const read = async (name: string, shape: number[]) => {
      if (!file.has(name)) throw new PeftAdapterError(`${weightsPath} lacks ${name}.`);
      const got = file.info(name).shape;
      if (got.join(',') !== shape.join(',')) {
        throw new PeftAdapterError(`${weightsPath}: ${name} has shape [${got}], expected [${shape}] (rank r = ${lora.rank} from ${ADAPTER_CONFIG}, and this model's projection sizes).`);
      }
      return file.readFloat32(name);
    };
    const pairs = [];
    for (const s of slots) {
      const a = await read(peftTensorName(s.module, 'A'), [lora.rank, s.inFeatures]);
      const b = await read(peftTensorName(s.module, 'B'), [s.outFeatures, lora.rank]);
      pairs.push({ ...s, a, b });
    }
    return { config: lora, pairs };
  } finally {
    await file.close();
  }
}

/** Refuses weights with NaN or infinity (a diverged run): applied, they would turn every logit into NaN. */
export function checkFiniteAdapter(adapter: LoraAdapter, source: string): void {
  for (const p of adapter.pairs) {
    for (const [which, values] of [['A', p.a], ['B', p.b]] as const) {
      const at = values.findIndex((x) => !Number.isFinite(x));
      if (at >= 0) {
        throw new PeftAdapterError(`${source}: ${peftTensorName(p.module, which)} holds ${values[at]} at index ${at}; the adapter's training diverged. Import a checkpoint from before it did.`);
      }
    }
  }
}

/** A model id or path reduced to its name: `Qwen/Qwen2.5-0.5B-Instruct@main` and `/models/qwen2.5-0.5b-instruct/` both give `qwen2.5-0.5b-instruct`. */
export function baseModelName(idOrPath: string): string {
  return idOrPath.trim().replace(/@[^/\\]*$/, '').replace(/[/\\]+$/, '').split(/[/\\]/).pop()!.toLowerCase();
}
