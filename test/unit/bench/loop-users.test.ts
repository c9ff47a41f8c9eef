// The closed-loop benchmark's simulated users want what their tastes say (and the cyclic one has no
// best ending), and its plot draws one line per user and method.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../../src/base/seeded-random';
import { acceptancePlot } from '../../../bench/loop/plot';
import { britishUser, cyclicUser, fixerUser, tidyUser } from '../../../bench/loop/users';

const SENTENCES = ['The sun rose over the hill.', 'Nobody knows where it went!', 'Keep it simple'];

test('the British user wants British spellings of the same sentence and nothing else changed', () => {
  const rand = seededRandom(1);
  for (let i = 0; i < 50; i++) {
    const { draft, ideal } = britishUser.task(rand);
    assert.notEqual(draft, ideal);
    assert.doesNotMatch(ideal, /\b(color|center|theater|realize|organize|recognize|favorite|gray)\b/);
    assert.equal(ideal.split(' ').length, draft.split(' ').length);
  }
});

test('the tidy user wants a final full stop in place of a "!" or of nothing', () => {
  const rand = seededRandom(2);
  for (let i = 0; i < 50; i++) {
    const { draft, ideal } = tidyUser(SENTENCES).task(rand);
    assert.match(ideal, /[^.!?]\.$/);
    assert.equal(ideal.slice(0, -1), draft.replace(/!$/, ''));
  }
});

test('the cyclic user prefers, for every ending, a different one: no ending is best', () => {
  const rand = seededRandom(3);
  const wanted = new Map<string, string>();
  for (let i = 0; i < 200; i++) {
    const { draft, ideal } = cyclicUser(SENTENCES).task(rand);
    const ending = (s: string) => s.match(/(\.\.\.|[.!])$/)![1];
    wanted.set(ending(draft), ending(ideal));
  }
  assert.deepEqual(Object.fromEntries(wanted), { '.': '!', '!': '...', '...': '.' });
});

test('the fixer user wants the clean sentence of a corrupted pair', () => {
  const { draft, ideal } = fixerUser([{ input: 'teh cat', target: 'The cat.' }]).task(seededRandom(4));
  assert.deepEqual([draft, ideal], ['teh cat', 'The cat.']);
});

test('the plot has a panel per user and a line per user and method', () => {
  const result = (user: string, method: 'slhf' | 'dpo', acceptance: number[]) => ({ user, method, acceptance, pairs: 0, trainSeconds: 0, adapterDir: null });
  const svg = acceptancePlot([result('a', 'slhf', [0, 0.5]), result('a', 'dpo', [0, 0.25]), result('b', 'slhf', [1, 1]), result('b', 'dpo', [0.5, 1])], 16, { a: 'taste a' });
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal((svg.match(/<polyline /g) ?? []).length, 4);
  assert.equal((svg.match(/<circle /g) ?? []).length, 8);
  assert.ok(svg.includes('taste a'));
});
