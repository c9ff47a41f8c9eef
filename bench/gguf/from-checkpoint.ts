// A Hugging Face checkpoint folder (Qwen2, Llama, Mistral; safetensors) written as a GGUF file that
// llama.cpp loads: the architecture's key/values, the byte-level BPE tokenizer from tokenizer.json,
// and every tensor renamed to llama.cpp's names. Matrices take the chosen type; norms and biases stay
// f32, as llama.cpp's own converter and quantizer keep them. Bench-only (bench/llama.bench.ts).
//
// Two things differ from a plain copy, both as llama.cpp's convert_hf_to_gguf.py does them:
// - The llama architecture rotates pairs (x[2i], x[2i+1]) where Hugging Face rotates halves
//   (x[i], x[i + d/2]), so q_proj and k_proj rows are permuted per head; qwen2 rotates halves too.
// - Llama 3's RoPE rescaling becomes a `rope_freqs` tensor of per-frequency divisors.
import { openCheckpoint, type Checkpoint } from '../../src/models/checkpoint';
import type { DecoderConfig } from '../../src/models/config';
import { decoderTensorLayout } from '../../src/models/weights-layout';
import { type GgmlType, type GgufTensor, type GgufValue, writeGguf } from './format';
import { encodeTensor } from './quants';

export type GgufFileType = 'f32' | 'f16' | 'q8_0' | 'q4_0';

const MATRIX_TYPE: Record<GgufFileType, GgmlType> = { f32: 'F32', f16: 'F16', q8_0: 'Q8_0', q4_0: 'Q4_0' };
/** llama.h's enum llama_ftype: what general.file_type says the file mostly holds. */
const FILE_TYPE: Record<GgufFileType, number> = { f32: 0, f16: 1, q4_0: 2, q8_0: 7 };

/** gguf-py's TokenType. */
const TOKEN_TYPE = { NORMAL: 1, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5 } as const;

interface TokenizerJson {
  model: { type: string; vocab: Record<string, number>; merges: (string | [string, string])[] };
  added_tokens?: { id: number; content: string; special: boolean }[];
  pre_tokenizer?: any;
  post_processor?: any;
}

/** llama.cpp's name for the pre-tokenizer (its split regex), from tokenizer.json's pre_tokenizer. */
function preTokenizerName(pre: any): string {
  if (pre?.type === 'ByteLevel' && pre.use_regex) return 'gpt-2';
  const split = pre?.type === 'Sequence' ? pre.pretokenizers?.find((p: any) => p.type === 'Split') : undefined;
  const regex: string | undefined = split?.pattern?.Regex;
  if (regex?.includes('\\p{N}{1,3}')) return 'llama-bpe';
  if (regex?.includes('[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|')) return 'qwen2';
  throw new Error(`gguf: unknown pre-tokenizer ${JSON.stringify(pre).slice(0, 200)}; add its llama.cpp name here`);
}

/** Whether encoding prepends a special token (the post-processor's template starts with one). */
function addsBos(tok: TokenizerJson, tokenizerConfig: Record<string, unknown>): boolean {
  if (typeof tokenizerConfig.add_bos_token === 'boolean') return tokenizerConfig.add_bos_token;
  const first = tok.post_processor?.processors?.find((p: any) => p.type === 'TemplateProcessing')?.single?.[0] ?? tok.post_processor?.single?.[0];
  return Boolean(first?.SpecialToken);
}

function tokenizerMetadata(checkpoint: Checkpoint): [string, GgufValue][] {
  const tok = checkpoint.tokenizer as unknown as TokenizerJson | null;
  if (!tok || tok.model.type !== 'BPE') throw new Error(`gguf: ${checkpoint.dir} needs a BPE tokenizer.json (got ${tok?.model.type ?? 'none'})`);
  const { config } = checkpoint;
  const tokens: (string | undefined)[] = new Array(config.vocabSize);
  const types = new Int32Array(config.vocabSize);
  const place = (id: number, text: string, type: number) => {
    if (id >= config.vocabSize) throw new Error(`gguf: token ${id} (${text}) is outside the model's ${config.vocabSize} embeddings`);
    tokens[id] = text;
    types[id] = type;
  };
  for (const [text, id] of Object.entries(tok.model.vocab)) place(id, text, TOKEN_TYPE.NORMAL);
  for (const t of tok.added_tokens ?? []) place(t.id, t.content, t.special ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.USER_DEFINED);
  // Embedding rows past the tokenizer (vocabularies padded for GPUs) get named placeholders.
  for (let i = 0; i < tokens.length; i++) if (tokens[i] === undefined) place(i, `[PAD${i}]`, TOKEN_TYPE.UNUSED);
  const merges = tok.model.merges.map((m) => (typeof m === 'string' ? m : m.join(' ')));
  const meta: [string, GgufValue][] = [
    ['tokenizer.ggml.model', { type: 'string', value: 'gpt2' }],
    ['tokenizer.ggml.pre', { type: 'string', value: preTokenizerName(tok.pre_tokenizer) }],
    ['tokenizer.ggml.tokens', { type: 'string[]', value: tokens as string[] }],
    ['tokenizer.ggml.token_type', { type: 'i32[]', value: types }],
    ['tokenizer.ggml.merges', { type: 'string[]', value: merges }],
    ['tokenizer.ggml.eos_token_id', { type: 'u32', value: config.eosTokenIds[0] }],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: addsBos(tok, checkpoint.tokenizerConfig) }],
  ];
  if (config.bosTokenId !== null) meta.push(['tokenizer.ggml.bos_token_id', { type: 'u32', value: config.bosTokenId }]);
  if (config.padTokenId !== null) meta.push(['tokenizer.ggml.padding_token_id', { type: 'u32', value: config.padTokenId }]);
  return meta;
}

/** llama.cpp's architecture: qwen2 as is; Llama and Mistral as `llama` (no sliding window there). */
function architecture(config: DecoderConfig): 'qwen2' | 'llama' {
  if (config.modelType === 'qwen2') {
    if (config.slidingWindow !== null) throw new Error('gguf: qwen2 with use_sliding_window is not written');
    return 'qwen2';
  }
  if (config.oBias || config.mlpBias) throw new Error('gguf: llama with o_proj or mlp biases is not written');
  return 'llama';
}

function modelMetadata(config: DecoderConfig, arch: string, type: GgufFileType, name: string): [string, GgufValue][] {
  const u32 = (value: number): GgufValue => ({ type: 'u32', value });
  const f32 = (value: number): GgufValue => ({ type: 'f32', value });
  const meta: [string, GgufValue][] = [
    ['general.architecture', { type: 'string', value: arch }],
    ['general.name', { type: 'string', value: name }],
    ['general.file_type', u32(FILE_TYPE[type])],
    [`${arch}.vocab_size`, u32(config.vocabSize)],
    [`${arch}.context_length`, u32(config.maxPositionEmbeddings)],
    [`${arch}.embedding_length`, u32(config.hiddenSize)],
    [`${arch}.block_count`, u32(config.numLayers)],
    [`${arch}.feed_forward_length`, u32(config.intermediateSize)],
    [`${arch}.attention.head_count`, u32(config.numHeads)],
    [`${arch}.attention.head_count_kv`, u32(config.numKvHeads)],
    [`${arch}.attention.key_length`, u32(config.headDim)],
    [`${arch}.attention.value_length`, u32(config.headDim)],
    [`${arch}.rope.dimension_count`, u32(config.headDim)],
    [`${arch}.rope.freq_base`, f32(config.ropeTheta)],
    [`${arch}.attention.layer_norm_rms_epsilon`, f32(config.rmsNormEps)],
  ];
  if (config.ropeScaling?.type === 'linear') {
    meta.push([`${arch}.rope.scaling.type`, { type: 'string', value: 'linear' }], [`${arch}.rope.scaling.factor`, f32(config.ropeScaling.factor)]);
  }
  return meta;
}

/** llama.cpp's tensor name for a Hugging Face one. */
function ggufName(hf: string): string {
  const fixed: Record<string, string> = { 'model.embed_tokens.weight': 'token_embd.weight', 'model.norm.weight': 'output_norm.weight', 'lm_head.weight': 'output.weight' };
  if (fixed[hf]) return fixed[hf];
  const m = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(hf);
  const parts: Record<string, string> = {
    input_layernorm: 'attn_norm', 'self_attn.q_proj': 'attn_q', 'self_attn.k_proj': 'attn_k', 'self_attn.v_proj': 'attn_v',
    'self_attn.o_proj': 'attn_output', post_attention_layernorm: 'ffn_norm', 'mlp.gate_proj': 'ffn_gate', 'mlp.up_proj': 'ffn_up', 'mlp.down_proj': 'ffn_down',
  };
  if (!m || !parts[m[2]]) throw new Error(`gguf: no llama.cpp name for ${hf}`);
  return `blk.${m[1]}.${parts[m[2]]}.${m[3]}`;
}

/** Rows of a q/k projection (or its bias) reordered per head from halves to interleaved pairs. */
export function interleaveRotaryRows(x: Float32Array, heads: number, headDim: number): Float32Array {
  const cols = x.length / (heads * headDim);
  const out = new Float32Array(x.length);
  const half = headDim / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (const side of [0, 1]) {
        const from = (h * headDim + side * half + i) * cols;
        const to = (h * headDim + 2 * i + side) * cols;
        out.set(x.subarray(from, from + cols), to);
      }
    }
  }
  return out;
}

/** Llama 3's per-frequency RoPE divisors (1 for high frequencies, `factor` for low ones, blended between). */
function llama3RopeFactors(config: DecoderConfig): Float32Array | null {
  const s = config.ropeScaling;
  if (s?.type !== 'llama3') return null;
  const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  const out = new Float32Array(config.headDim / 2);
  for (let i = 0; i < out.length; i++) {
    const wavelen = (2 * Math.PI) / (1 / config.ropeTheta ** ((2 * i) / config.headDim));
    if (wavelen < highWavelen) out[i] = 1;
    else if (wavelen > lowWavelen) out[i] = s.factor;
    else {
      const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      out[i] = 1 / ((1 - smooth) / s.factor + smooth);
    }
  }
  return out;
}

/** Writes `checkpointDir` as a GGUF file of the given type to `outPath`. */
export async function checkpointToGguf(checkpointDir: string, outPath: string, type: GgufFileType): Promise<void> {
  const checkpoint = await openCheckpoint(checkpointDir);
  try {
    const { config } = checkpoint;
    const arch = architecture(config);
    const tensors: GgufTensor[] = [];
    const ropeFactors = llama3RopeFactors(config);
    if (ropeFactors) tensors.push({ name: 'rope_freqs.weight', dims: [ropeFactors.length], type: 'F32', data: async () => encodeTensor(ropeFactors, 'F32') });
    for (const slot of decoderTensorLayout(config)) {
      const heads = /q_proj/.test(slot.name) ? config.numHeads : /k_proj/.test(slot.name) ? config.numKvHeads : 0;
      const tensorType = slot.shape.length === 2 ? MATRIX_TYPE[type] : 'F32';
      tensors.push({
        name: ggufName(slot.name),
        dims: [...slot.shape].reverse(),
        type: tensorType,
        data: async () => {
          let x = await checkpoint.weights.readFloat32(slot.name);
          if (arch === 'llama' && heads > 0) x = interleaveRotaryRows(x, heads, config.headDim);
          return encodeTensor(x, tensorType);
        },
      });
    }
    const name = String(config.raw._name_or_path ?? config.modelType);
    await writeGguf(outPath, [...modelMetadata(config, arch, type, name), ...tokenizerMetadata(checkpoint)], tensors);
  } finally {
    await checkpoint.close();
  }
}
