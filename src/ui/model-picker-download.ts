// The model picker's download of a hub model behind a progress notification. Written against plain
// callbacks (the shape of vscode.Progress, and a CancellationToken turned into an AbortSignal) so it
// runs, and is tested, without VS Code, against a local stand-in for the hub.
import { downloadModel, HubError, type DownloadProgress, type HubOptions } from '../models/hub';

/** What the picker offers to download: the paper's two smallest models (Qwen2.5 Instruct, single safetensors file each). */
export const RECOMMENDED_MODELS: readonly { id: string; size: string; note: string }[] = [
  { id: 'Qwen/Qwen2.5-0.5B-Instruct', size: 'about 1 GB', note: 'a good start on a laptop CPU' },
  { id: 'Qwen/Qwen2.5-1.5B-Instruct', size: 'about 3.1 GB', note: 'better text, about 3 times slower' },
];

export interface DownloadUi {
  /** vscode.Progress#report: each `increment` adds to a bar that is full at 100. */
  report(update: { message?: string; increment?: number }): void;
  /** Aborted when the user cancels. */
  signal: AbortSignal;
}

export type DownloadOutcome =
  | { kind: 'downloaded'; folder: string; message: string }
  | { kind: 'cancelled'; message: string }
  | { kind: 'failed'; message: string };

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

/**
 * Progress per file: "model.safetensors: 45% (445.2 of 988.1 MB)". The bar follows the weights
 * (the metadata files are kilobytes); with several shards it fills once per shard's share, which
 * is unknown up front, so it tracks the largest file seen so far and the text carries the rest.
 */
export function progressReporter(ui: Pick<DownloadUi, 'report'>): (p: DownloadProgress) => void {
  let shown = 0;
  let lastText = '';
  let barFile: string | null = null;
  return ({ file, downloaded, total }) => {
    const percent = total ? Math.floor((100 * downloaded) / total) : null;
    const text = percent === null ? `${file}: ${mb(downloaded)} MB` : `${file}: ${percent}% (${mb(downloaded)} of ${mb(total!)} MB)`;
    if (file.endsWith('.safetensors') && barFile === null) barFile = file;
    const increment = file === barFile && total ? Math.max(0, (100 * downloaded) / total - shown) : 0;
    // vscode.Progress re-renders on every report: only changes are worth sending.
    if (text === lastText && increment < 0.5) return;
    shown += increment;
    lastText = text;
    ui.report({ message: text, increment });
  };
}

/** Downloads `id` into the hub cache the refiner reads (`hub` options: tests point it at a local hub). */
export async function downloadRecommended(id: string, ui: DownloadUi, hub: HubOptions = {}, download = downloadModel): Promise<DownloadOutcome> {
  let received = 0;
  const report = progressReporter(ui);
  try {
    const folder = await download(id, {
      ...hub,
      signal: ui.signal,
      onProgress: (p) => {
        if (p.file.endsWith('.safetensors')) received = p.downloaded;
        report(p);
      },
    });
    return { kind: 'downloaded', folder, message: `Downloaded ${id}.` };
  } catch (error) {
    if (error instanceof HubError && error.code === 'cancelled') {
      // hub.ts keeps the partial file (blobs/*.incomplete) and resumes it with a Range request.
      const kept = received > 0 ? ` The ${mb(received)} MB received so far are kept; downloading it again resumes from there.` : '';
      return { kind: 'cancelled', message: `Download of ${id} cancelled; the Follower model is unchanged.${kept}` };
    }
    return { kind: 'failed', message: `Could not download ${id}: ${error instanceof Error ? error.message : String(error)} The Follower model is unchanged.` };
  }
}
