// The bench's tables (markdown, mean and spread over seeds) and its figure, from the seeds' results.
import { mean, sd } from './game';
import { ENDINGS } from './judge';
import type { IntransitiveMethod } from './intransitive';
import { slhfPlot, type Series } from './plot';
import { PLAYERS, ROUNDS, type SeedResult } from './seed';

const pm = (xs: number[], digits = 3) => `${mean(xs).toFixed(digits)} ± ${sd(xs).toFixed(digits)}`;
const range = (xs: number[]) => `${Math.min(...xs).toFixed(3)}-${Math.max(...xs).toFixed(3)}`;

export function tables(results: SeedResult[], methods: IntransitiveMethod[], cases: number): string {
  const out: string[] = [];
  const runs = results.flatMap((r) => r.intransitive);
  if (runs.length) {
    out.push('1. Intransitive endings, held-out stems: the Follower\'s exact E[1-p] (optimum 0.667; any answer that ignores the draft: at most 0.5)', '');
    out.push(`| method | judge calls | E[1-p] (mean ± sd) | seeds' range | best response to ${ENDINGS.map((e) => `'${e}'`).join(' / ')} | copies the draft | other answers | seconds |`);
    out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const method of methods) {
      const mine = runs.filter((r) => r.method === method);
      if (!mine.length) continue;
      const per = (f: (r: (typeof mine)[number]) => number[]) => ENDINGS.map((_, e) => mean(mine.map((r) => f(r)[e])).toFixed(2)).join(' / ');
      out.push(`| ${method} | ${mean(mine.map((r) => r.judgeCalls)).toFixed(0)} | ${pm(mine.map((r) => r.final.score))} | ${range(mine.map((r) => r.final.score))} | ${per((r) => r.final.bestResponse)} | ${per((r) => r.final.copy)} | ${mean(mine.map((r) => r.final.other)).toFixed(3)} | ${mean(mine.map((r) => r.seconds)).toFixed(0)} |`);
    }
    out.push('', `warm start (every method's starting point): E[1-p] ${mean(runs.map((r) => r.curve[0].value)).toFixed(3)}`);
  }
  const it = results.filter((r) => r.iterations);
  if (it.length) {
    out.push('', `2. Iterative refinement of ${cases} held-out typo drafts: P(round k beats round k-1) / P(round k beats the draft)`, '');
    out.push(`| Follower | judge | ${Array.from({ length: ROUNDS }, (_, k) => `k=${k + 1}`).join(' | ')} |`);
    out.push(`| --- | --- | ${Array.from({ length: ROUNDS }, () => '---:').join(' | ')} |`);
    PLAYERS.forEach((name, f) => {
      for (const part of ['transitive', 'full'] as const) {
        const cell = (k: number) => `${mean(it.map((r) => r.iterations![f][part].overPrevious[k])).toFixed(2)} / ${pm(it.map((r) => r.iterations![f][part].overDraft[k]), 2)}`;
        out.push(`| ${name} | ${part === 'full' ? 'full' : 'typos only'} | ${Array.from({ length: ROUNDS }, (_, k) => cell(k)).join(' | ')} |`);
      }
    });
    out.push('', `3. Transfer: win rate of the Follower's refinement over the Leader's draft (${cases} held-out typo instructions, full judge)`, '');
    out.push(`| Leader \\ Follower | ${PLAYERS.join(' | ')} |`, `| --- | ${PLAYERS.map(() => '---:').join(' | ')} |`);
    PLAYERS.forEach((l, i) => out.push(`| ${l} | ${PLAYERS.map((_, j) => pm(it.map((r) => r.transfer![i][j]))).join(' | ')} |`));
  }
  return out.join('\n');
}

export function figure(results: SeedResult[], methods: IntransitiveMethod[]): string {
  const runs = results.flatMap((r) => r.intransitive);
  const intransitive: Series[] = methods.filter((m) => runs.some((r) => r.method === m)).map((m) => {
    const mine = runs.filter((r) => r.method === m);
    return { name: m, x: mine[0].curve.map((c) => c.step), values: mine[0].curve.map((_, j) => mine.map((r) => r.curve[j].value)) };
  });
  const it = results.filter((r) => r.iterations);
  const iterations: Series[] = it.length ? PLAYERS.map((name, f) => ({
    name: `${name} (typos only)`, x: Array.from({ length: ROUNDS + 1 }, (_, k) => k),
    values: [it.map(() => 0.5), ...Array.from({ length: ROUNDS }, (_, k) => it.map((r) => r.iterations![f].transitive.overDraft[k]))],
  })) : [];
  const transfer = it.length ? { leaders: PLAYERS, followers: PLAYERS, values: PLAYERS.map((_, i) => PLAYERS.map((_, j) => mean(it.map((r) => r.transfer![i][j])))) } : null;
  return slhfPlot({ intransitive, iterations, transfer });
}
