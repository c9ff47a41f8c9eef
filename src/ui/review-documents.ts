// In-memory documents for the review diff, under the slhf-review scheme, so the diff editor never
// touches a file on disk. A file system provider rather than a content provider, because the
// proposal side is editable (issue 19: typing in it said "Cannot edit in read-only editor"): the
// original and History's texts stay read-only, a proposal takes edits (and saves, kept in memory).
import * as vscode from 'vscode';

export const REVIEW_SCHEME = 'slhf-review';

const ENDED = '(This SLHF review has ended.)';

interface Entry {
  text: string;
  writable: boolean;
  mtime: number;
}

export class ReviewDocuments implements vscode.FileSystemProvider, vscode.Disposable {
  private readonly entries = new Map<string, Entry>();
  private readonly changed = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.changed.event;

  /**
   * Registers `text` under a URI whose path ends like the source file, so it gets the same
   * highlighting. `writable`: the user may edit it (a proposal); otherwise it is read-only.
   */
  put(review: number | string, name: string, text: string, extension: string, options: { writable?: boolean } = {}): vscode.Uri {
    const uri = vscode.Uri.from({ scheme: REVIEW_SCHEME, path: `/${review}/${name}${extension}` });
    const existed = this.entries.has(uri.toString());
    this.entries.set(uri.toString(), { text, writable: options.writable ?? false, mtime: Date.now() });
    if (existed) this.changed.fire([{ type: vscode.FileChangeType.Changed, uri }]);
    return uri;
  }

  /** The stored text (what was put, or last saved); an open editor may hold unsaved edits beyond it. */
  text(uri: vscode.Uri): string | undefined {
    return this.entries.get(uri.toString())?.text;
  }

  /** Forgets the texts of one review. */
  drop(review: number | string): void {
    for (const key of [...this.entries.keys()]) if (vscode.Uri.parse(key).path.startsWith(`/${review}/`)) this.entries.delete(key);
  }

  stat(uri: vscode.Uri): vscode.FileStat {
    const entry = this.entries.get(uri.toString());
    // An unknown (ended) review still opens, read-only, saying so, rather than failing to open.
    return {
      type: vscode.FileType.File, ctime: 0, mtime: entry?.mtime ?? 0, size: Buffer.byteLength(entry?.text ?? ENDED),
      permissions: entry?.writable ? undefined : vscode.FilePermission.Readonly,
    };
  }

  readFile(uri: vscode.Uri): Uint8Array {
    return Buffer.from(this.entries.get(uri.toString())?.text ?? ENDED, 'utf8');
  }

  writeFile(uri: vscode.Uri, content: Uint8Array): void {
    const entry = this.entries.get(uri.toString());
    if (!entry?.writable) throw vscode.FileSystemError.NoPermissions(uri);
    entry.text = Buffer.from(content).toString('utf8');
    entry.mtime = Date.now();
    this.changed.fire([{ type: vscode.FileChangeType.Changed, uri }]);
  }

  watch(): vscode.Disposable {
    return new vscode.Disposable(() => undefined);
  }

  readDirectory(): [string, vscode.FileType][] {
    return [];
  }

  createDirectory(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }

  delete(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }

  rename(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }

  dispose(): void {
    this.changed.dispose();
  }
}
