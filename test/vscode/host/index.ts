// The extensionTestsPath entry: VS Code calls run() inside the extension host.
import './activation.spec';
import './refine.spec';
import './guards.spec';
import { runAll } from './runner';

export function run(): Promise<void> {
  return runAll();
}
