// The schema maxima of slhf.refine.rounds (8) and slhf.refine.maxNewTokens (4096) hold in code
// (issue 18: a hand-edited settings.json or a CLI flag could ask for 1000 rounds): the refiner
// refuses more, the CLI says the limit, and package.json declares the same numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCommandArgs, UsageError } from '../../../src/cli/command';
import { refineCommand } from '../../../src/cli/refiner';
import { ModelHost } from '../../../src/refiner/host';
import { refine } from '../../../src/refiner/loop';
import { MAX_NEW_TOKENS, MAX_ROUNDS, RefinerInputError, resolveSettings } from '../../../src/refiner/refiner-settings';
import { collect } from './fixtures';

const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
const setting = (name: string) => manifest.contributes.configuration.properties?.[name] ?? manifest.contributes.configuration.find?.((c: { properties: Record<string, unknown> }) => c.properties[name])?.properties[name];

test('package.json declares the maxima the code enforces', () => {
  assert.equal(setting('slhf.refine.rounds').maximum, MAX_ROUNDS);
  assert.equal(setting('slhf.refine.maxNewTokens').maximum, MAX_NEW_TOKENS);
});

test('the refiner refuses more rounds or new tokens than the maxima, before any model loads', async () => {
  assert.throws(() => resolveSettings({ maxNewTokens: MAX_NEW_TOKENS + 1 }), (err: Error) => err instanceof RefinerInputError && /maxNewTokens must be an integer from 1 to 4096, got 4097/.test(err.message));
  assert.equal(resolveSettings({ maxNewTokens: MAX_NEW_TOKENS }).maxNewTokens, MAX_NEW_TOKENS);
  const host = new ModelHost({ cacheDir: '/nonexistent' });
  host.configure({ leader: null, follower: { spec: '/nonexistent-model' } });
  await assert.rejects(collect(refine(host, { draft: 'Some text.', rounds: 1000 })), /rounds must be an integer from 1 to 8, got 1000/);
});

test('slhf refine --rounds 1000 or --max-new-tokens 100000 is refused with the limit', async () => {
  const run = (argv: string[]) => refineCommand.run(parseCommandArgs(refineCommand, ['--follower', '/nonexistent-model', ...argv]), { stdout: () => undefined, stderr: () => undefined, stdin: async () => 'Some text.' });
  await assert.rejects(run(['--rounds', '1000']), (err: Error) => err instanceof UsageError && err.message === '--rounds must be an integer >= 1 and <= 8, got "1000".');
  await assert.rejects(run(['--max-new-tokens', '100000']), (err: Error) => err instanceof UsageError && err.message === '--max-new-tokens must be an integer >= 1 and <= 4096, got "100000".');
});
