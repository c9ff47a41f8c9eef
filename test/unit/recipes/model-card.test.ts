// The recipe rewrites the model card whole but keeps the section npm run bench:default wrote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BENCH_DEFAULT_HEADING, keptBenchSection } from '../../../recipes/default-model/report';

test('the bench:default section is kept up to the next section, or to the end', () => {
  const section = `${BENCH_DEFAULT_HEADING}\n\n| a | b |\n| 1 | 2 |\n`;
  assert.equal(keptBenchSection(`# Card\n\n## Data\ntext\n${section}\n## Known weaknesses\n- x\n`), `\n${section}`);
  assert.equal(keptBenchSection(`# Card\n${section}`), `\n${section}`);
  assert.equal(keptBenchSection('# Card\n## Data\n'), '');
});

test('the shipped card has the section', async () => {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  assert.notEqual(keptBenchSection(readFileSync(join(__dirname, '..', '..', '..', 'assets', 'default-model', 'README.md'), 'utf8')), '');
});
