// From a decoded completion to the text shown to the user: cut at a stop string (the plain-text
// template's next turn), drop a reasoning block and an echoed instruction, and give the result the
// original's leading and trailing whitespace. Works on a growing completion, so the streamed chunks
// join to the final text.

export interface ExtractOptions {
  /** The text being refined: its leading and trailing whitespace are kept. */
  original: string;
  /** Text that ends the answer (e.g. "\nUser:" for the plain template). */
  stopStrings: string[];
  /** An instruction the model may echo at the start of its answer. */
  echo?: string;
}

export interface Extracted {
  /** What is certain so far (everything when final). */
  text: string;
  /** A stop string was generated: nothing after it belongs to the answer. */
  stop: boolean;
}

const THINK_OPEN = '<think>';
const THINK_CLOSE = '</think>';

const outer = (text: string) => ({ lead: /^\s*/.exec(text)![0], trail: /\s*$/.exec(text)![0] });

/** Length of the longest suffix of `text` that is a proper prefix of one of `needles`. */
function partialSuffix(text: string, needles: string[]): number {
  let best = 0;
  for (const needle of needles) {
    for (let n = Math.min(needle.length - 1, text.length); n > best; n--) {
      if (text.endsWith(needle.slice(0, n))) {
        best = n;
        break;
      }
    }
  }
  return best;
}

/** `outerOfOriginal`: outer(options.original), which a streaming caller computes once rather than per token. */
export function extractText(decoded: string, options: ExtractOptions, final: boolean, outerOfOriginal = outer(options.original)): Extracted {
  let body = decoded;
  let stop = false;
  for (const s of options.stopStrings) {
    const at = body.indexOf(s);
    if (at >= 0) {
      body = body.slice(0, at);
      stop = true;
    }
  }
  const done = final || stop;
  // A half-decoded UTF-8 sequence or a half-generated stop string may still change.
  if (!done) body = body.replace(/\uFFFD+$/, '').slice(0, body.length - partialSuffix(body, options.stopStrings));
  let content = body.trimStart();
  // A reasoning block (Qwen3, DeepSeek-R1 style) is not part of the answer.
  if (content.startsWith(THINK_OPEN)) {
    const close = content.indexOf(THINK_CLOSE);
    content = close >= 0 ? content.slice(close + THINK_CLOSE.length).trimStart() : '';
  } else if (!done && THINK_OPEN.startsWith(content)) content = '';
  const echo = options.echo?.trim();
  if (echo) {
    if (content.startsWith(echo)) content = content.slice(echo.length).trimStart();
    else if (!done && echo.startsWith(content)) content = '';
  }
  const { lead, trail } = outerOfOriginal;
  if (done) return { text: lead + content.trimEnd() + trail, stop };
  if (content.trim() === '') return { text: '', stop };
  return { text: lead + content.trimEnd(), stop };
}

/** Feeds a growing completion and hands out only the new, certain part of the extracted text. */
export class StreamingExtractor {
  private emitted = '';
  private readonly outer: { lead: string; trail: string };

  constructor(private readonly options: ExtractOptions) {
    this.outer = outer(options.original);
  }

  /** The next chunk to show, and whether generation should stop. */
  push(decoded: string): { chunk: string; stop: boolean } {
    const { text, stop } = extractText(decoded, this.options, false, this.outer);
    return { chunk: this.advance(text), stop };
  }

  /** The last chunk and the whole extracted text. */
  finish(decoded: string): { chunk: string; text: string } {
    const { text } = extractText(decoded, this.options, true, this.outer);
    return { chunk: this.advance(text), text };
  }

  private advance(text: string): string {
    // Certain text only grows; a decoder that rewrites earlier text (rare) shows up in the final text only.
    if (!text.startsWith(this.emitted)) return '';
    const chunk = text.slice(this.emitted.length);
    this.emitted = text;
    return chunk;
  }
}
