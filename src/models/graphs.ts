// The graphs built from the one decoder definition: the transformers.js inference graph with its KV
// cache, the scoring graph (per-token log-probs of given tokens), the training graph (the same
// log-probs with LoRA A/B and dropout masks as inputs, for the trainer to differentiate), and online
// training's sampling graph (the last position's logits, LoRA A/B as inputs). The LoRA inputs of the
// last two come from one builder, loraGraphInputs.
import { Graph, type Feed, type Tensor, type TypedArray, cast, gatherElements, logSoftmax, slice, squeeze, sub, unsqueeze } from '../onnx';
import type { DecoderConfig } from './config';
import { decoderForward, type KvTensors, type LoraTensors, type WeightSource } from './decoder';
import { encodeHalf } from './half';
import { dropoutMask, loraScale, loraSlots, type LoraAdapter, type LoraConfig, type LoraPair } from './lora';
import { peftTensorName } from './peft';
import { decoderTensorLayout } from './weights-layout';

/** Float32 weights under Hugging Face tensor names, row-major in the checkpoint's layout. */
export type WeightMap = Map<string, Float32Array>;

export type WeightDType = 'float32' | 'float64' | 'float16';

/** float32 values stored as `dtype`: the same array, a float64 copy, or float16 bit patterns. */
export function storedAs(data: Float32Array, dtype: WeightDType): TypedArray {
  if (dtype === 'float64') return Float64Array.from(data);
  if (dtype === 'float16') {
    const bits = new Uint16Array(data.length);
    encodeHalf('F16', data, bits);
    return bits;
  }
  return data;
}

export interface GraphWeightOptions {
  /** Store weights in the external data file when the graph is saved (needed past protobuf's 2 GB). */
  external?: boolean;
  /**
   * Compute type; float64 serves precise gradient checks, float16 (inference graphs only) halves the
   * weights and KV cache for GPU providers. Default float32.
   */
  dtype?: WeightDType;
  /** Empty the weight map while building (export and scoring hold one copy of the weights). */
  consume?: boolean;
}

/**
 * Weights become initializers on first use, shapes checked against what config.json implies. With
 * `consume`, each entry leaves the map as it becomes an initializer, so a transposed projection
 * never coexists with its original for more than one tensor.
 */
export function initializerSource(graph: Graph, config: DecoderConfig, weights: WeightMap, options: GraphWeightOptions = {}): WeightSource {
  const shapes = new Map(decoderTensorLayout(config).map((slot) => [slot.name, slot.shape]));
  const made = new Map<string, Tensor>();
  const dtype = options.dtype ?? 'float32';
  const make = (name: string, transposed: boolean): Tensor => {
    const key = transposed ? `${name}.T` : name;
    let t = made.get(key);
    if (t) return t;
    const data = weights.get(name);
    const shape = shapes.get(name);
    if (!data || !shape) throw new Error(`decoder weights: ${name} is missing${made.has(transposed ? name : `${name}.T`) ? ' (already used in the other layout)' : ''}`);
    const stored = storedAs(transposed ? transposeCopy(data, shape[0], shape[1]) : data, dtype);
    if (options.consume) weights.delete(name);
    t = graph.initializer(key, dtype, transposed ? [shape[1], shape[0]] : shape, stored, { external: options.external ?? false });
    made.set(key, t);
    return t;
  };
  return Object.assign((name: string) => make(name, false), { transposed: (name: string) => make(name, true) });
}

/** A row-major [rows, cols] matrix as [cols, rows], in a new array of its type (float16 kept as raw bits). */
export function transposeCopy<T extends Float32Array | Uint16Array>(data: T, rows: number, cols: number): T {
  const out = new (data.constructor as new (length: number) => T)(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}


/** log softmax(logits)[target] for every position: [batch, seq]. */
export function tokenLogProbs(logits: Tensor, targets: Tensor): Tensor {
  return squeeze(gatherElements(logSoftmax(logits, -1), unsqueeze(targets, [2]), 2), [2]);
}

/** The log-prob graph's optional input [batch]: 1 / T for each row (see LogProbGraphOptions.temperature). */
export const INVERSE_TEMPERATURE = 'inverse_temperature';

/** Names transformers.js expects; see docs/models-graphs.md. */
export const pastName = (layer: number, kind: 'key' | 'value'): string => `past_key_values.${layer}.${kind}`;
export const presentName = (layer: number, kind: 'key' | 'value'): string => `present.${layer}.${kind}`;
/**
 * The contrib graph's extra outputs: each pass's own cache rows [batch, sequence_length, kv_heads *
 * head_dim] (keys rotated), for a caller that keeps the cache itself (see CACHE_BUFFER_DIM). Not named
 * present.*: transformers.js takes every present.* output for its next past.
 */
export const newRowsName = (layer: number, kind: 'key' | 'value'): string => `new_rows.${layer}.${kind}`;
export const NUM_LOGITS_TO_KEEP = 'num_logits_to_keep';

/** The inputs every inference graph variant declares, in the transformers.js layout. */
export interface InferenceInputs {
  inputIds: Tensor;
  attentionMask: Tensor;
  positionIds: Tensor;
  /** int64 scalar: logits for the last N positions only, 0 for all (transformers.js feeds 1 while generating). */
  numLogitsToKeep: Tensor;
  past: KvTensors[];
}

/**
 * Inputs input_ids, attention_mask, position_ids, num_logits_to_keep and past_key_values.{i}.key|value.
 * The batch dimension must be named batch_size and kv heads / head_dim must be numbers:
 * transformers.js sizes the empty first cache from this metadata, in the declared dtype.
 */
/** The plain graph's cache length: exactly the tokens the cache holds (the graph concatenates onto it). */
export const PAST_LENGTH_DIM = 'past_sequence_length';
/**
 * The contrib graph's cache length: a buffer that may be longer than the tokens it holds, since
 * GroupQueryAttention takes the length from attention_mask. A caller may keep one buffer per cache
 * tensor, feed it as past on every pass, fetch only the pass's new rows (newRowsName) and write them
 * into it: nothing of the size of the cache crosses back to JS.
 */
export const CACHE_BUFFER_DIM = 'past_buffer_length';

export function inferenceInputs(graph: Graph, config: DecoderConfig, cacheDType: WeightDType, pastLengthDim = PAST_LENGTH_DIM): InferenceInputs {
  const inputIds = graph.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const attentionMask = graph.input('attention_mask', 'int64', ['batch_size', 'total_sequence_length']);
  const positionIds = graph.input('position_ids', 'int64', ['batch_size', 'sequence_length']);
  const numLogitsToKeep = graph.input(NUM_LOGITS_TO_KEEP, 'int64', []);
  const past: KvTensors[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    const shape = ['batch_size', config.numKvHeads, pastLengthDim, config.headDim];
    past.push({ key: graph.input(pastName(l, 'key'), cacheDType, shape), value: graph.input(pastName(l, 'value'), cacheDType, shape) });
  }
  return { inputIds, attentionMask, positionIds, numLogitsToKeep, past };
}

/**
 * Output of each kept row's log sum exp over the vocabulary [batch, n]: the normalizer of the log-prob
 * token choice records at temperature 1 (greedy included), which ORT's vectorized LogSoftmax computes
 * in a fraction of the ~1.5 ms a 151k-entry vocabulary takes in JS per emitted token.
 */
export const LOGSUMEXP = 'logsumexp';

/** Outputs logits (float16 ones cast to float32, which the refiner reads), their LOGSUMEXP and present.{i}.key|value. */
export function inferenceOutputs(graph: Graph, logits: Tensor, present: KvTensors[]): void {
  const float = logits.dtype === 'float16' ? cast(logits, 'float32') : logits;
  graph.output(float, 'logits');
  // x_0 - log_softmax(x)_0 = log sum exp(x): one fused kernel, then two [.., 1] slices.
  const last = float.rank - 1;
  const first = (t: Tensor) => slice(t, [0], [1], [last]);
  graph.output(squeeze(sub(first(float), first(logSoftmax(float, -1))), [last]), LOGSUMEXP);
  present.forEach((kv, l) => {
    graph.output(kv.key, presentName(l, 'key'));
    graph.output(kv.value, presentName(l, 'value'));
  });
}

/**
 * The plain-op inference graph transformers.js loads (see inferenceInputs/inferenceOutputs): the
 * decoder of training and scoring with a KV cache flowing in and out.
 */
export function buildInferenceGraph(config: DecoderConfig, weights: WeightMap, options: GraphWeightOptions = {}): Graph {
  const graph = new Graph('decoder');
  const io = inferenceInputs(graph, config, options.dtype ?? 'float32');
  const weight = initializerSource(graph, config, weights, options);
  const out = decoderForward(config, weight, io);
  inferenceOutputs(graph, out.logits, out.present);
  return graph;
}

/** A LoRA pair's graph inputs, named as PEFT names the tensors in adapter_model.safetensors. */
export interface LoraPairInputs {
  slot: Omit<LoraPair, 'a' | 'b'>;
  a: Tensor;
  b: Tensor;
  /** [batch, seq, in] inverted-dropout mask, present when the graph was built with dropout. */
  dropoutMask?: Tensor;
}

export interface LogProbGraph {
  graph: Graph;
  inputIds: Tensor;
  attentionMask: Tensor;
  positionIds: Tensor;
  /** int64 [batch, seq]: the token whose log-prob is read at each position (the next token). */
  targetIds: Tensor;
  /** float [batch, seq]: log p(target_ids[b, t] | input_ids[b, <= t]). Output `token_logprobs`. */
  tokenLogProbs: Tensor;
  lora: LoraPairInputs[];
}

export interface LogProbGraphOptions extends GraphWeightOptions {
  /** Adapters as graph inputs (A [r, in], B [out, r]); merge them into the weights instead for plain scoring. */
  lora?: LoraConfig;
  /**
   * LoRA dropout with p = lora.dropout. 'inputs': a mask input per adapted projection (deterministic;
   * tests and replays). { seed }: masks drawn in the graph, fresh every run, nothing to feed.
   * Absent: no dropout (evaluation).
   */
  dropout?: 'inputs' | { seed: number };
  /**
   * Declare INVERSE_TEMPERATURE, so each row is scored at its own sampling temperature T (log-probs
   * of softmax(logits / T)), the distribution its tokens were drawn from. Absent: T = 1.
   */
  temperature?: boolean;
}

/** LoRA inputs carry PEFT's tensor names, so a saved adapter's tensors feed the graph by name. */
export const loraInputName = peftTensorName;
export const dropoutInputName = (module: string): string => `dropout_mask.${module}`;

/**
 * Per-token log-probs over whole (left-padded) sequences: the scoring graph without `lora`, the
 * training graph with it. The trainer adds its loss on `tokenLogProbs` and calls `grad` on the LoRA
 * inputs before marking outputs; `token_logprobs` is already an output.
 */
export function buildLogProbGraph(config: DecoderConfig, weights: WeightMap, options: LogProbGraphOptions = {}): LogProbGraph {
  const graph = new Graph(options.lora ? 'decoder_train' : 'decoder_score');
  const { inputIds, attentionMask, positionIds } = sequenceInputs(graph);
  const targetIds = graph.input('target_ids', 'int64', SEQUENCE_DIMS);
  const adapter = options.lora ? loraGraphInputs(graph, config, options.lora, options.dtype ?? 'float32', options.dropout) : undefined;
  const lora = adapter?.pairs ?? [];
  const loraTensors = adapter?.tensors;
  const weight = initializerSource(graph, config, weights, options);
  const logitScale = options.temperature ? graph.input(INVERSE_TEMPERATURE, options.dtype ?? 'float32', ['batch_size']) : undefined;
  const { logits } = decoderForward(config, weight, { inputIds, attentionMask, positionIds, lora: loraTensors, logitScale });
  const logProbs = graph.output(tokenLogProbs(logits, targetIds), 'token_logprobs');
  return { graph, inputIds, attentionMask, positionIds, targetIds, tokenLogProbs: logProbs, lora };
}

const SEQUENCE_DIMS = ['batch_size', 'sequence_length'];

/** input_ids, attention_mask and position_ids over whole sequences (no KV cache), [batch, seq] each. */
function sequenceInputs(graph: Graph): { inputIds: Tensor; attentionMask: Tensor; positionIds: Tensor } {
  return {
    inputIds: graph.input('input_ids', 'int64', SEQUENCE_DIMS),
    attentionMask: graph.input('attention_mask', 'int64', SEQUENCE_DIMS),
    positionIds: graph.input('position_ids', 'int64', SEQUENCE_DIMS),
  };
}

/**
 * Every adapted projection's LoRA factors as graph inputs (A [r, in], B [out, r], PEFT names), and
 * its dropout (LogProbGraphOptions.dropout): the one builder of LoRA inputs for every graph that takes them.
 */
function loraGraphInputs(graph: Graph, config: DecoderConfig, lora: LoraConfig, dtype: WeightDType, dropout?: 'inputs' | { seed: number }): { pairs: LoraPairInputs[]; tensors: LoraTensors } {
  const pairs: LoraPairInputs[] = [];
  const tensors: LoraTensors = { scale: loraScale(lora), modules: new Map() };
  const p = lora.dropout;
  if (dropout && !(p > 0)) throw new Error('buildLogProbGraph: dropout requested but lora.dropout is 0');
  loraSlots(config, lora).forEach((slot, i) => {
    const a = graph.input(loraInputName(slot.module, 'A'), dtype, [lora.rank, slot.inFeatures]);
    const b = graph.input(loraInputName(slot.module, 'B'), dtype, [slot.outFeatures, lora.rank]);
    const dropoutMask = dropout === 'inputs' ? graph.input(dropoutInputName(slot.module), dtype, [...SEQUENCE_DIMS, slot.inFeatures]) : undefined;
    // Each projection gets its own seed, or all would draw the same mask sequence.
    const drawn = typeof dropout === 'object' ? { p, seed: dropout.seed + i } : undefined;
    pairs.push({ slot, a, b, dropoutMask });
    tensors.modules.set(slot.module, { a, b, dropoutMask, dropout: drawn });
  });
  return { pairs, tensors };
}

/** The sampling graph's output: logits at the last position, [batch, vocab]. */
export const LAST_LOGITS = 'last_logits';

/**
 * Online training's sampling graph: the decoder with the LoRA factors as float32 inputs and no KV
 * cache, output LAST_LOGITS. Each new token re-runs the whole sequence: fine for the short samples
 * and small models online training uses.
 */
export function buildLastLogitsGraph(config: DecoderConfig, weights: WeightMap, lora: LoraConfig): Graph {
  const graph = new Graph('decoder_sample');
  const { inputIds, attentionMask, positionIds } = sequenceInputs(graph);
  const { tensors } = loraGraphInputs(graph, config, lora, 'float32');
  const { logits } = decoderForward(config, initializerSource(graph, config, weights), { inputIds, attentionMask, positionIds, lora: tensors });
  graph.output(squeeze(slice(logits, [-1], [2 ** 31 - 1], [1]), [1]), LAST_LOGITS);
  return graph;
}

/** Feeds for a log-prob graph's LoRA inputs from an adapter's A/B values. */
export function loraFeeds(adapter: LoraAdapter, dtype: 'float32' | 'float64' = 'float32'): Record<string, Feed> {
  const feeds: Record<string, Feed> = {};
  const rank = adapter.config.rank;
  for (const pair of adapter.pairs) {
    const cast = (x: Float32Array) => (dtype === 'float64' ? Float64Array.from(x) : x);
    feeds[loraInputName(pair.module, 'A')] = { dtype, data: cast(pair.a), dims: [rank, pair.inFeatures] };
    feeds[loraInputName(pair.module, 'B')] = { dtype, data: cast(pair.b), dims: [pair.outFeatures, rank] };
  }
  return feeds;
}

/** Fresh inverted-dropout masks for every adapted projection of a [batch, width] step. */
export function dropoutFeeds(adapter: LoraAdapter, batch: number, width: number, rand: () => number, dtype: 'float32' | 'float64' = 'float32'): Record<string, Feed> {
  const feeds: Record<string, Feed> = {};
  for (const pair of adapter.pairs) {
    const mask = dropoutMask(batch * width * pair.inFeatures, adapter.config.dropout, rand);
    feeds[dropoutInputName(pair.module)] = { dtype, data: dtype === 'float64' ? Float64Array.from(mask) : mask, dims: [batch, width, pair.inFeatures] };
  }
  return feeds;
}
