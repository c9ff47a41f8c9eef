// `npm run bench:default`: the out-of-box refiner (the built-in model through `slhf refine`'s own
// code path, --rounds 2 --seed 1) and Harper (harper.js, each lint's first suggestion applied) on
// the hand-written held-out set of bench/default/set.ts, scored word by word against the intended
// texts in the same run. Prints a markdown table and saves bench/results/default-<date>.json.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCommandArgs } from '../src/cli/command';
import { refineCommand } from '../src/cli/refiner';
import { defaultModelDir } from '../src/models/default-model';
import { loadHarper, newLints } from '../src/models/harper';
import { CLEAN, CORRUPTED, type BenchText } from './default/set';
import { scoreText, summarize, type Summary, type TextScore } from './default/score';
import { machineDescription } from './framework';

/** The built-in refiner exactly as `echo TEXT | slhf refine --rounds 2 --seed 1 --json` runs it: the last round's text. */
/** Sentences the garble guard kept as written (slhf refine says so on stderr). */
let guarded = 0;

async function builtIn(text: string, cacheDir: string): Promise<string> {
  const lines: string[] = [];
  const args = parseCommandArgs(refineCommand, ['--rounds', '2', '--seed', '1', '--json', '--cache-dir', cacheDir]);
  const code = await refineCommand.run(args, { stdout: (t) => lines.push(t), stderr: (t) => { guarded += (t.match(/kept sentence \d+ as written/g) ?? []).length; }, stdin: async () => text });
  if (code !== 0) throw new Error(`slhf refine exited with ${code}`);
  const rounds = lines.join('').trim().split('\n').map((l) => JSON.parse(l) as { text: string });
  return rounds.at(-1)?.text ?? text;
}

async function main(): Promise<void> {
  const items: BenchText[] = [...CORRUPTED, ...CLEAN];
  const cacheDir = mkdtempSync(join(tmpdir(), 'slhf-bench-default-'));
  const t0 = performance.now();
  const harper = await loadHarper();
  const harperSetupS = (performance.now() - t0) / 1000;
  // Harper first, then the built-in model: measures whether the model adds anything on top of Harper.
  const scores: Record<'builtIn' | 'harper' | 'harperThenBuiltIn', TextScore[]> = { builtIn: [], harper: [], harperThenBuiltIn: [] };
  const seconds = { builtIn: 0, harper: 0, harperThenBuiltIn: 0 };
  // What a review guard would flag: outputs with Harper lints their input did not have.
  const flagged = { builtIn: 0, harper: 0, harperThenBuiltIn: 0 };
  try {
    for (const item of items) {
      let t = performance.now();
      scores.builtIn.push(scoreText(item, await builtIn(item.input, cacheDir)));
      seconds.builtIn += (performance.now() - t) / 1000;
      t = performance.now();
      const fixed = await harper.fixFirst(item.input);
      scores.harper.push(scoreText(item, fixed));
      seconds.harper += (performance.now() - t) / 1000;
      t = performance.now();
      scores.harperThenBuiltIn.push(scoreText(item, await builtIn(fixed, cacheDir)));
      seconds.harperThenBuiltIn += (performance.now() - t) / 1000;
    }
    for (const [name, list] of Object.entries(scores) as [keyof typeof flagged, TextScore[]][]) {
      for (const [i, s] of list.entries()) if ((await newLints(harper, items[i].input, s.output)).length > 0) flagged[name] += 1;
    }
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
  const summary = { builtIn: summarize(scores.builtIn), harper: summarize(scores.harper), harperThenBuiltIn: summarize(scores.harperThenBuiltIn) };
  const date = new Date().toISOString();
  const machine = machineDescription();
  const load = loadavg()[0];
  const row = (name: string, s: Summary, flags: number, secs: number) =>
    `| ${name} | ${s.exactFixes} of ${s.corrupted} | ${s.errorReduction.toFixed(2)} | ${s.cleanChanged} of ${s.clean} | ${s.truncated} of ${s.multiSentence} | ${flags} of ${s.corrupted + s.clean} | ${secs.toFixed(1)} |`;
  // Which built-in model was measured: the card's section goes stale when the recipe retrains it.
  const model = createHash('sha256').update(readFileSync(join(defaultModelDir(), 'model.safetensors'))).digest('hex').slice(0, 12);
  console.log(`${date}  ${machine}  load average ${load.toFixed(2)}  built-in model.safetensors sha256 ${model}`);
  console.log('| refiner | exact fixes (corrupted) | word-level error reduction | clean texts changed | multi-sentence texts truncated | outputs with new Harper lints | seconds (all 27) |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  console.log(row('built-in model (slhf refine --rounds 2 --seed 1)', summary.builtIn, flagged.builtIn, seconds.builtIn));
  console.log(row('Harper (harper.js 2.10, first suggestions)', summary.harper, flagged.harper, seconds.harper));
  console.log(row('Harper, then the built-in model on its output', summary.harperThenBuiltIn, flagged.harperThenBuiltIn, seconds.harperThenBuiltIn + seconds.harper));
  console.log(`The garble guard kept ${guarded} sentence(s) as written over both built-in rows.`);
  console.log(`(Harper setup ${harperSetupS.toFixed(1)} s, not counted; the built-in model's seconds include its load per text, as the CLI does.)`);
  for (const [name, list] of Object.entries(scores)) {
    for (const s of list) if (!s.exact) console.log(`${name} ${s.id}: ${JSON.stringify(s.output)} (${s.outputErrors} word errors, input had ${s.inputErrors})`);
  }
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `default-${date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ date, machine, load, model, guarded, flagged, summary, seconds, harperSetupS, scores }, null, 2) + '\n');
  console.log(`saved ${file}`);
}

void main();
