// `npm run bench [-- NAME_FILTER] [--threads N] [--iterations N]`: runs every bench/*.bench.ts,
// prints one table with ours/peer ratios, saves bench/results/ and flags >10% regressions.
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type BenchModule, type BenchRow, type SavedRun, formatTable, machineDescription, regressions } from './framework';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { threads: { type: 'string' }, iterations: { type: 'string' } },
  });
  const threads = Number(values.threads ?? cpus().length);
  const iterations = Number(values.iterations ?? 20);
  if (!Number.isInteger(threads) || threads < 1 || !Number.isInteger(iterations) || iterations < 1) {
    console.error('usage: npm run bench -- [NAME_FILTER] [--threads N] [--iterations N]');
    return 2;
  }
  const files = readdirSync(__dirname).filter((f) => f.endsWith('.bench.ts')).sort()
    .filter((f) => positionals.length === 0 || positionals.some((p) => f.includes(p)));
  const rows: BenchRow[] = [];
  for (const file of files) {
    const mod = (await import(join(__dirname, file))) as BenchModule;
    console.error(`running ${file} (threads ${threads}, ${iterations} iterations)...`);
    rows.push(...(await mod.run({ threads, iterations, log: (m) => console.error(`  ${m}`) })));
  }

  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const latest = join(dir, 'latest.json');
  const previous = existsSync(latest) ? (JSON.parse(readFileSync(latest, 'utf8')) as SavedRun) : undefined;
  const run: SavedRun = { date: new Date().toISOString(), machine: machineDescription(), threads, load: loadavg()[0], rows };
  // Other processes skew timings; the load average says how busy the machine was.
  console.log(`${run.date}  ${run.machine}  threads=${threads}  load average ${run.load.toFixed(2)}`);
  console.log(formatTable(rows, previous?.threads === threads ? previous : undefined));
  writeFileSync(join(dir, `${run.date.replace(/[:.]/g, '-')}.json`), JSON.stringify(run, null, 2));
  writeFileSync(latest, JSON.stringify(run, null, 2));
  const worse = regressions(rows, previous?.threads === threads ? previous : undefined);
  if (worse.size > 0) console.log(`\n${worse.size} benchmark(s) more than 10% worse than the previous run (${previous!.date}).`);
  return 0;
}

main().then((code) => process.exit(code), (e) => {
  console.error(e);
  process.exit(1);
});
