// llama.cpp through node-llama-cpp's prebuilt CPU binary (the npm package @node-llama-cpp/linux-x64):
// never built or downloaded at run time. Loads a GGUF file and runs greedy decoding on token ids, so
// both engines see exactly the same tokens (our tokenizer's).

export interface LlamaCppOptions {
  threads: number;
  contextSize: number;
  /**
   * An f32 KV cache and no flash attention: the arithmetic closest to our float32 graph, for the
   * same-model check. Off: llama.cpp's defaults (f16 KV cache, flash attention as it decides), as
   * its users run it.
   */
  exact?: boolean;
}

export interface LlamaCppRunner {
  /** Greedy decoding of `count` tokens after `prompt`, timed; the sequence is cleared first. */
  greedy(prompt: number[], count: number): Promise<{ tokens: number[]; ttftMs: number; decodeMs: number }>;
  /** Log-probabilities of the next token after `prompt` (vocabulary order). */
  nextLogProbs(prompt: number[]): Promise<Float64Array>;
  /** llama.cpp's own tokenization of a text, without added special tokens. */
  tokenize(text: string): number[];
  vocabSize: number;
  dispose(): Promise<void>;
}

export async function loadLlamaCpp(path: string, options: LlamaCppOptions): Promise<LlamaCppRunner> {
  // ESM only; a dynamic import keeps this CommonJS project loading it.
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, maxThreads: options.threads });
  const model = await llama.loadModel({ modelPath: path });
  const context = await model.createContext({
    contextSize: options.contextSize,
    batchSize: options.contextSize,
    threads: { ideal: options.threads, min: options.threads },
    ...(options.exact ? { flashAttention: false, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32' } as const : {}),
  });
  const sequence = context.getSequence();
  const metadata = model.fileInfo.metadata as any;
  const vocabSize = metadata[metadata.general.architecture]?.vocab_size;
  if (typeof vocabSize !== 'number') throw new Error(`${path}: no ${metadata.general.architecture}.vocab_size`);
  return {
    vocabSize,
    tokenize: (text) => model.tokenize(text, false) as number[],
    async greedy(prompt, count) {
      await sequence.clearHistory();
      const tokens: number[] = [];
      const start = performance.now();
      let firstAt = start;
      for await (const token of sequence.evaluate(prompt as any, { temperature: 0 })) {
        if (tokens.length === 0) firstAt = performance.now();
        tokens.push(token);
        if (tokens.length === count) break;
      }
      return { tokens, ttftMs: firstAt - start, decodeMs: performance.now() - firstAt };
    },
    async nextLogProbs(prompt) {
      await sequence.clearHistory();
      const out = new Float64Array(vocabSize).fill(-Infinity);
      // Temperature 1 with no top-k/p filter: the probabilities are softmax over the raw logits.
      for await (const step of sequence.evaluateWithMetadata(prompt as any, { probabilities: true }, { temperature: 1, topK: 0, topP: 1, minP: 0 })) {
        for (const [token, p] of step.probabilities) out[token] = Math.log(p);
        break;
      }
      return out;
    },
    async dispose() {
      await context.dispose();
      await model.dispose();
      await llama.dispose();
    },
  };
}
