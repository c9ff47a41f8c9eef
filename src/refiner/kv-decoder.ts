// Drives an exported decoder's ONNX Runtime session directly, one forward pass at a time, holding its
// KV cache: the generation hot loop (generate.ts) feeds it one token, or one token plus drafted
// tokens to verify (speculation.ts), and cuts the cache back when drafts are rejected. The graph's
// inputs and outputs are those src/models/export.ts writes (transformers.js layout): input_ids,
// attention_mask, position_ids (when declared), past_key_values.{i}.key/.value
// [batch, kv_heads, past, head_dim] in, logits [batch, n, vocab] and present.{i}.key/.value out
// (the contrib graph's past may be a longer buffer than the tokens it holds, and it outputs each
// pass's new rows as new_rows.{i}.key/.value: see `buffers`).
import { CACHE_BUFFER_DIM, LOGSUMEXP, newRowsName, presentName } from '../models/graphs';
import { decodeHalf } from '../models/half';
import { toOrtTensor } from '../onnx/runtime';
import { PREFILL_CHUNK_TOKENS } from './limits';

type OrtTensor = ReturnType<typeof toOrtTensor>;

/** The slice of onnxruntime's InferenceSession this uses (transformers.js's model.sessions.model). */
export interface DecoderSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly { name: string; isTensor: boolean; type?: string; shape?: readonly (number | string)[] }[];
  run(feeds: Record<string, OrtTensor>, fetches?: Record<string, OrtTensor | null>): Promise<Record<string, OrtTensor>>;
}


/** The appended-to cache buffer grows in steps of this many tokens (see KvDecoder's buffers). */
export const CACHE_BUFFER_STEP = 128;

/** A pass's last rows: logits [rows * vocab], and each row's log sum exp where the graph computes it. */
export interface PassOutput {
  logits: Float32Array;
  vocab: number;
  logSumExps?: Float32Array;
}

export class KvDecoder {
  private readonly cacheNames: { past: string; present: string; rows: string }[];
  private readonly kvType: 'float32' | 'float16';
  private readonly kvHeads: number;
  private readonly headDim: number;
  private readonly positionIds: boolean;
  private readonly logitsToKeep: boolean;
  /** Whether the graph outputs each row's log sum exp (exports since graph builder 7). */
  private readonly logSumExp: boolean;
  private past = new Map<string, OrtTensor>();
  /** Tokens held in the cache. */
  length = 0;
  /** Forward passes run, prefill chunks included. */
  passes = 0;
  /**
   * With a capacity (CPU sessions), the cache lives in preallocated buffers. Graphs that output each
   * pass's new cache rows and take a cache input longer than the tokens it holds (the contrib graph:
   * new_rows.*, CACHE_BUFFER_DIM) get one buffer per cache tensor: fed as past on every pass, with the
   * pass's new rows written into it here; the presents are not fetched. onnxruntime-node copies every
   * fetched output into a new ArrayBuffer, even one bound to a preallocated tensor, and at editor-length
   * contexts those copies (28 MB a token at 1,024 tokens of the 0.5B shape) and the garbage collections
   * they set off cost a token more than its attention does. The buffer grows in steps of
   * CACHE_BUFFER_STEP tokens, since GroupQueryAttention's own present is as long as the buffer. Other
   * graphs (the plain one concatenates onto its past) get two buffers of `capacity` tokens, and ORT
   * writes a pass's present into the one the past is not in. Measured in BENCHMARKS.md ("llama.cpp peer").
   */
  private readonly buffers: [Float32Array | Uint16Array, Float32Array | Uint16Array][] | null;
  private appended: { tokens: number; tensors: OrtTensor[] } | null;
  private readonly capacity: number;
  private slot = 0;

  /** `capacity`: the most tokens the cache will hold (prompt, answer and drafts); only for CPU sessions. */
  constructor(private readonly session: DecoderSessionLike, capacity?: number) {
    this.cacheNames = session.inputNames.filter((n) => n.startsWith('past_key_values.')).map((past) => {
      const [, layer, kind] = past.split('.') as [string, string, 'key' | 'value'];
      return { past, present: presentName(Number(layer), kind), rows: newRowsName(Number(layer), kind) };
    });
    if (this.cacheNames.length === 0) throw new Error('the model graph has no past_key_values inputs: export it with a KV cache (slhf export-onnx does)');
    for (const { present } of this.cacheNames) if (!session.outputNames.includes(present)) throw new Error(`the model graph has no ${present} output for its cache input`);
    if (!session.outputNames.includes('logits')) throw new Error('the model graph has no logits output');
    this.positionIds = session.inputNames.includes('position_ids');
    this.logitsToKeep = session.inputNames.includes('num_logits_to_keep');
    this.logSumExp = session.outputNames.includes(LOGSUMEXP);
    const meta = session.inputMetadata?.find((m) => m.name === this.cacheNames[0]?.past);
    const shape = meta?.shape ?? [];
    if (typeof shape[1] !== 'number' || typeof shape[3] !== 'number') {
      throw new Error(`the model graph's cache input ${this.cacheNames[0].past} must have numeric kv-head and head-size dimensions`);
    }
    this.kvHeads = shape[1] as number;
    this.headDim = shape[3] as number;
    this.kvType = meta?.type === 'float16' ? 'float16' : 'float32';
    this.capacity = capacity ?? 0;
    const size = this.capacity * this.kvHeads * this.headDim;
    const appendable = shape[2] === CACHE_BUFFER_DIM && this.cacheNames.every(({ rows }) => session.outputNames.includes(rows));
    this.appended = capacity && appendable ? { tokens: 0, tensors: [] } : null;
    this.buffers = capacity && !appendable ? this.cacheNames.map(() => [this.cacheArray(size), this.cacheArray(size)]) : null;
  }

  /** Whether the cache is one buffer per tensor that this decoder appends each pass's rows to (see `buffers`). */
  get appendsRows(): boolean {
    return this.appended !== null;
  }

  /**
   * Runs `ids` after what the cache holds and returns the logits of their last `keep` positions
   * (a row predicts the token after its id), as float32 [keep * vocab], and each row's log sum exp
   * when the graph computes it. Graphs with a num_logits_to_keep input compute only those rows;
   * others return all and the rest are dropped.
   */
  async forward(ids: readonly number[], keep = ids.length): Promise<PassOutput> {
    const n = ids.length;
    const feeds: Record<string, OrtTensor> = {
      input_ids: toOrtTensor('int64', BigInt64Array.from(ids, BigInt), [1, n]),
      attention_mask: toOrtTensor('int64', new BigInt64Array(this.length + n).fill(1n), [1, this.length + n]),
    };
    if (this.logitsToKeep) feeds.num_logits_to_keep = toOrtTensor('int64', BigInt64Array.of(BigInt(keep)), []);
    if (this.positionIds) feeds.position_ids = toOrtTensor('int64', BigInt64Array.from({ length: n }, (_, i) => BigInt(this.length + i)), [1, n]);
    if (this.appended) return this.forwardAppending(feeds, n, keep);
    const total = this.length + n;
    for (const { past } of this.cacheNames) feeds[past] = this.past.get(past) ?? this.empty();
    let fetches: Record<string, OrtTensor | null> | undefined;
    if (this.buffers && total <= this.capacity) {
      this.slot = 1 - this.slot;
      fetches = this.outputFetches();
      this.cacheNames.forEach(({ present }, i) => {
        fetches![present] = toOrtTensor(this.kvType, this.buffers![i][this.slot].subarray(0, total * this.kvHeads * this.headDim), [1, this.kvHeads, total, this.headDim]);
      });
    }
    const out = await this.session.run(feeds, fetches);
    this.passes++;
    // The presents become the next pass's past; the old past is no longer referenced.
    for (const { past, present } of this.cacheNames) {
      this.release(this.past.get(past));
      this.past.set(past, out[present]);
    }
    this.length += n;
    return this.lastRows(out, keep);
  }

  /** A pass that reads the cache from the buffers and writes its new rows there (each head's rows at head * tokens). */
  private async forwardAppending(feeds: Record<string, OrtTensor>, n: number, keep: number): Promise<PassOutput> {
    const { tokens, tensors } = this.growBuffers(this.length + n);
    const fetches = this.outputFetches();
    this.cacheNames.forEach(({ past, rows }, i) => {
      feeds[past] = tensors[i];
      fetches[rows] = null;
    });
    const out = await this.session.run(feeds, fetches);
    this.passes++;
    const { kvHeads: heads, headDim: dim, length } = this;
    this.cacheNames.forEach(({ rows }, i) => {
      const data = tensors[i].data as Float32Array | Uint16Array;
      const added = out[rows].data as Float32Array | Uint16Array; // [1, n, heads * dim]
      for (let t = 0; t < n; t++) {
        for (let h = 0; h < heads; h++) data.set(added.subarray((t * heads + h) * dim, (t * heads + h + 1) * dim), (h * tokens + length + t) * dim);
      }
    });
    this.length += n;
    return this.lastRows(out, keep);
  }

  /** The outputs a pass fetches besides the cache. */
  private outputFetches(): Record<string, OrtTensor | null> {
    return this.logSumExp ? { logits: null, [LOGSUMEXP]: null } : { logits: null };
  }

  /** The last `keep` rows of a pass's logits [1, n, vocab] as float32, and of its log sum exps [1, n]. */
  private async lastRows(out: Record<string, OrtTensor>, keep: number): Promise<PassOutput> {
    const vocab = out.logits.dims[out.logits.dims.length - 1];
    const data = await floatData(out.logits);
    const logits = data.subarray(data.length - keep * vocab);
    if (!this.logSumExp) return { logits, vocab };
    const sums = await floatData(out[LOGSUMEXP]);
    return { logits, vocab, logSumExps: sums.subarray(sums.length - keep) };
  }

  /** The appended-to buffers, regrown to the next multiple of CACHE_BUFFER_STEP tokens when `total` does not fit. */
  private growBuffers(total: number): { tokens: number; tensors: OrtTensor[] } {
    const appended = this.appended!;
    if (total <= appended.tokens) return appended;
    const tokens = Math.ceil(total / CACHE_BUFFER_STEP) * CACHE_BUFFER_STEP;
    const { kvHeads: heads, headDim: dim, length } = this;
    appended.tensors = this.cacheNames.map((_, i) => {
      const data = this.cacheArray(heads * tokens * dim);
      const old = appended.tensors[i]?.data as Float32Array | Uint16Array | undefined;
      // Each head's rows start at head * tokens * dim: the held ones move to the new stride.
      if (old) for (let h = 0; h < heads; h++) data.set(old.subarray(h * appended.tokens * dim, (h * appended.tokens + length) * dim), h * tokens * dim);
      return toOrtTensor(this.kvType, data, [1, heads, tokens, dim]);
    });
    appended.tokens = tokens;
    return appended;
  }

  /**
   * Runs a prompt in passes of about `chunk` tokens, so one pass's working memory is bounded by the
   * chunk rather than the prompt, and returns its last `keep` positions' rows (null when
   * `aborted` said so between passes). The last pass takes at least `keep` tokens.
   */
  async prefill(ids: readonly number[], chunk = PREFILL_CHUNK_TOKENS, aborted: () => boolean = () => false, keep = 1): Promise<PassOutput | null> {
    if (ids.length === 0) throw new Error('prefill needs at least one token');
    const starts: number[] = [];
    for (let at = 0; at < ids.length; at += chunk) starts.push(at);
    while (starts.length > 1 && ids.length - starts[starts.length - 1] < keep) starts.pop();
    let out: PassOutput | null = null;
    for (let i = 0; i < starts.length; i++) {
      if (i > 0 && aborted()) return null;
      const last = i === starts.length - 1;
      out = await this.forward(ids.slice(starts[i], last ? ids.length : starts[i + 1]), last ? keep : 1);
    }
    return out;
  }

  /** Keeps the first `length` cached tokens: the cache as it was before the rejected ones ran. */
  async truncate(length: number): Promise<void> {
    if (length >= this.length) return;
    if (this.appended) {
      // The rows past `length` are overwritten by the next pass, which starts there.
      this.length = length;
      return;
    }
    for (const { past } of this.cacheNames) {
      const tensor = this.past.get(past)!;
      const [b, heads, have, dim] = tensor.dims;
      // Each head's first `length` rows move down to close the gap, in place (forward: no overlap harm).
      const data: any = tensor.location === 'cpu' ? tensor.data : await tensor.getData();
      for (let h = 1; h < b * heads; h++) data.copyWithin(h * length * dim, h * have * dim, h * have * dim + length * dim);
      this.release(tensor);
      this.past.set(past, toOrtTensor(tensor.type as any, data.subarray(0, b * heads * length * dim), [b, heads, length, dim]));
    }
    this.length = length;
  }

  /** Frees device-held cache tensors (CPU tensors are garbage collected). */
  dispose(): void {
    for (const tensor of this.past.values()) this.release(tensor);
    this.past.clear();
    this.length = 0;
  }

  private empty(): OrtTensor {
    return toOrtTensor(this.kvType, this.cacheArray(0), [1, this.kvHeads, 0, this.headDim]);
  }

  /** Zeroed storage for `size` cache values in the cache's type (float16 as raw bits). */
  private cacheArray(size: number): Float32Array | Uint16Array {
    return this.kvType === 'float16' ? new Uint16Array(size) : new Float32Array(size);
  }

  private release(tensor: OrtTensor | undefined): void {
    if (tensor && tensor.location !== 'cpu') tensor.dispose();
  }
}

async function floatData(tensor: OrtTensor): Promise<Float32Array> {
  const data: any = tensor.location === 'cpu' ? tensor.data : await tensor.getData();
  if (data instanceof Float32Array) return data;
  if (tensor.type === 'float16') {
    const bits = data instanceof Uint16Array ? data : new Uint16Array(data.buffer, data.byteOffset, data.length);
    const out = new Float32Array(bits.length);
    decodeHalf('F16', bits, out);
    return out;
  }
  throw new Error(`unexpected logits type ${tensor.type}`);
}
