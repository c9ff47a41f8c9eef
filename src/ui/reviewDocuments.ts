// Read-only virtual documents for the review diff: the original text and each Follower round live
// under the slhf-review scheme, so the diff editor never touches a file on disk.
import * as vscode from 'vscode';

export const REVIEW_SCHEME = 'slhf-review';

export class ReviewDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly texts = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  /** Registers `text` under a URI whose path ends like the source file, so it gets the same highlighting. */
  put(review: number | string, name: string, text: string, extension: string): vscode.Uri {
    const uri = vscode.Uri.from({ scheme: REVIEW_SCHEME, path: `/${review}/${name}${extension}` });
    this.texts.set(uri.toString(), text);
    this.changed.fire(uri);
    return uri;
  }

  /** Forgets the texts of one review. */
  drop(review: number | string): void {
    for (const key of [...this.texts.keys()]) if (vscode.Uri.parse(key).path.startsWith(`/${review}/`)) this.texts.delete(key);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '(This SLHF review has ended.)';
  }

  dispose(): void {
    this.changed.dispose();
  }
}
