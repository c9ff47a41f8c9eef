// `node --import tsx recipes/default-model/measure.ts [-- DIR ...]`: the model card's held-out
// measurement (report.ts measure: the same 321 fortune pairs as train.ts's step 4, one greedy
// refinement each through the refiner) for each model folder given, default the shipped model. For
// continue.ts, whose weights the card's table must describe.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeRefinementPairs } from '../../lab/corruption';
import { ALL_FORTUNES, loadCorpus } from '../../lab/corpus';
import { measure } from './report';

async function main(): Promise<void> {
  const dirs = process.argv.slice(2).filter((a) => a !== '--');
  const corpus = loadCorpus({ source: ALL_FORTUNES });
  // As train.ts: every third held-out sentence, seed 12345.
  const pairs = makeRefinementPairs(corpus.heldOut.filter((_, i) => i % 3 === 0), { seed: 12345, cleanRate: 0.3, maxCorruptions: 2 });
  const cache = mkdtempSync(join(tmpdir(), 'slhf-default-measure-'));
  try {
    for (const dir of dirs.length > 0 ? dirs : ['assets/default-model']) {
      const { metrics, examples } = await measure(dir, pairs, cache);
      console.log(`${dir}: ${pairs.length} pairs, exact-fix rate ${(100 * (metrics.exactFixRate ?? 0)).toFixed(1)}%, damage rate ${(100 * (metrics.damageRate ?? 0)).toFixed(1)}%`);
      for (const [kind, v] of Object.entries(metrics.byKind)) console.log(`  ${kind}: ${v!.count} pairs, ${(100 * (v!.rate ?? 0)).toFixed(1)}%`);
      for (const e of examples) console.log(`  ${e.input} -> ${e.output}${e.output === e.want ? '' : ` (wanted ${e.want})`}`);
    }
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
