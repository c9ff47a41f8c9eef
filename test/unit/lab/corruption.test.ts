// Each corruption kind does what its name says (checked structurally over many seeds, not against
// stored outputs), does nothing where it cannot apply, and the pair maker is deterministic with a
// controllable clean rate and honest records of what it applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../../src/base/seeded-random';
import { applyCorruption, corrupt, CORRUPTION_KINDS, makeRefinementPairs, MISSPELLINGS } from '../../../lab/corruption';

const SENTENCE = 'The quick brown fox believes their friend, until tomorrow.';
const QWERTY = ['qwertyuiop', 'asdfghjkl', 'zxcvbnm'];
const keyAt = (ch: string) => { const r = QWERTY.findIndex((row) => row.includes(ch)); return [r, QWERTY[r].indexOf(ch)]; };

/** Runs a kind under seeds 0..n-1 and returns the outputs. */
const outputs = (kind: Parameters<typeof applyCorruption>[0], text: string, n = 50) =>
  Array.from({ length: n }, (_, seed) => applyCorruption(kind, text, seededRandom(seed)));

/** The single position where two equal-length strings differ. */
const diffAt = (a: string, b: string) => [...a].map((_, i) => i).filter((i) => a[i] !== b[i]);

test('adjacent-key: exactly one letter becomes a keyboard neighbour of the same case', () => {
  for (const out of outputs('adjacent-key', SENTENCE)) {
    assert.ok(out !== null);
    assert.equal(out.length, SENTENCE.length);
    const at = diffAt(SENTENCE, out);
    assert.equal(at.length, 1, out);
    const [was, now] = [SENTENCE[at[0]], out[at[0]]];
    assert.equal(was === was.toUpperCase(), now === now.toUpperCase());
    const [r1, c1] = keyAt(was.toLowerCase());
    const [r2, c2] = keyAt(now.toLowerCase());
    assert.ok(Math.abs(r1 - r2) <= 1 && Math.abs(c1 + r1 * 0.5 - (c2 + r2 * 0.5)) <= 1.5, `${was} -> ${now}`);
  }
  assert.equal(applyCorruption('adjacent-key', '123 ...', seededRandom(0)), null);
});

test('transposition: two adjacent, different letters swap', () => {
  for (const out of outputs('transposition', SENTENCE)) {
    const at = diffAt(SENTENCE, out!);
    assert.equal(at.length, 2);
    assert.equal(at[1], at[0] + 1);
    assert.equal(out![at[0]], SENTENCE[at[1]]);
    assert.equal(out![at[1]], SENTENCE[at[0]]);
  }
  assert.equal(applyCorruption('transposition', 'aa a', seededRandom(0)), null);
});

test('deletion: one letter of a word of three or more letters goes missing', () => {
  const seen = new Set<string>();
  for (const out of outputs('deletion', 'I am not here.')) {
    assert.equal(out!.length, 'I am not here.'.length - 1);
    assert.ok(out!.startsWith('I am '), out!); // 'I' and 'am' are too short to lose a letter
    seen.add(out!);
  }
  assert.ok(seen.size >= 4, 'deletions land in different places');
  assert.equal(applyCorruption('deletion', 'I am.', seededRandom(0)), null);
});

test('misspelling: a word from the table is replaced by its common misspelling, keeping its capital', () => {
  assert.equal(applyCorruption('misspelling', 'Go to the shop.', seededRandom(0)), 'Go to teh shop.');
  assert.equal(applyCorruption('misspelling', 'The end.', seededRandom(0)), 'Teh end.');
  for (const out of outputs('misspelling', SENTENCE)) {
    const changed = out!.split(/\W+/).filter((w) => !SENTENCE.split(/\W+/).includes(w));
    assert.equal(changed.length, 1, out!);
    assert.ok(changed[0].toLowerCase() in MISSPELLINGS, changed[0]);
  }
  assert.equal(applyCorruption('misspelling', 'No such word here.', seededRandom(0)), null);
});

test('doubled-word: a word after the first appears twice in a row', () => {
  for (const out of outputs('doubled-word', SENTENCE)) {
    const w = out!.split(' ');
    const i = w.findIndex((x, j) => j > 0 && x.replace(/\W/g, '') !== '' && w[j - 1] === x.replace(/[,.]$/, ''));
    assert.ok(i > 0, out!);
    w.splice(i - 1, 1);
    assert.equal(w.join(' '), SENTENCE);
  }
  assert.equal(applyCorruption('doubled-word', 'Hello.', seededRandom(0)), null);
});

test('lowercase-start, stray-space and missing final punctuation', () => {
  assert.equal(applyCorruption('lowercase-start', 'The cat.', seededRandom(0)), 'the cat.');
  assert.equal(applyCorruption('lowercase-start', 'the cat.', seededRandom(0)), null);
  for (const out of outputs('stray-space', SENTENCE)) {
    assert.equal(out!.replace(/ {2}/, ' ').replace(/ ([,.])/, '$1'), SENTENCE);
    assert.equal(out!.length, SENTENCE.length + 1);
  }
  assert.equal(applyCorruption('missing-final-punctuation', 'Why not?', seededRandom(0)), 'Why not');
  assert.equal(applyCorruption('missing-final-punctuation', 'Stop...', seededRandom(0)), 'Stop');
  assert.equal(applyCorruption('missing-final-punctuation', 'No mark', seededRandom(0)), null);
});

test('corrupt records exactly the kinds it applied, each once, in canonical order', () => {
  for (let seed = 0; seed < 30; seed++) {
    const { text, applied } = corrupt(SENTENCE, seededRandom(seed), 3);
    assert.ok(applied.length >= 1 && applied.length <= 3);
    assert.notEqual(text, SENTENCE);
    assert.deepEqual(applied, CORRUPTION_KINDS.filter((k) => applied.includes(k)));
    if (applied.includes('missing-final-punctuation')) assert.ok(!/[.!?]$/.test(text));
    else assert.ok(text.endsWith('.'));
    if (applied.includes('lowercase-start')) assert.match(text, /^[a-z]/);
  }
  // Only inapplicable kinds: nothing happens and nothing is recorded.
  assert.deepEqual(corrupt('no mark', seededRandom(0), 2, ['lowercase-start', 'missing-final-punctuation']), { text: 'no mark', applied: [] });
});

test('pairs: deterministic by seed, the clean rate is honoured, clean pairs are identities', () => {
  const sentences = Array.from({ length: 400 }, (_, i) => `${i % 2 ? 'The' : 'Their'} friend number ${i} came until noon.`);
  const a = makeRefinementPairs(sentences, { seed: 7, cleanRate: 0.25 });
  assert.deepEqual(makeRefinementPairs(sentences, { seed: 7, cleanRate: 0.25 }), a);
  assert.notDeepEqual(makeRefinementPairs(sentences, { seed: 8, cleanRate: 0.25 }), a);
  assert.deepEqual(a.map((p) => p.target), sentences);
  const clean = a.filter((p) => p.applied.length === 0);
  assert.ok(clean.every((p) => p.input === p.target));
  assert.ok(a.filter((p) => p.applied.length > 0).every((p) => p.input !== p.target && p.applied.length <= 2));
  assert.ok(Math.abs(clean.length / a.length - 0.25) < 0.07, `clean fraction ${clean.length / a.length}`);
  assert.ok(makeRefinementPairs(sentences, { seed: 1, cleanRate: 0 }).every((p) => p.applied.length > 0));
  assert.ok(makeRefinementPairs(sentences, { seed: 1, cleanRate: 1 }).every((p) => p.input === p.target));
  // Every kind shows up over a few hundred sentences.
  const used = new Set(a.flatMap((p) => p.applied));
  assert.deepEqual([...used].sort(), [...CORRUPTION_KINDS].sort());
  const only = makeRefinementPairs(sentences, { seed: 2, cleanRate: 0, kinds: ['doubled-word'], maxCorruptions: 3 });
  assert.ok(only.every((p) => p.applied.join() === 'doubled-word'));
});

test('pairs: bad options are refused clearly', () => {
  assert.throws(() => makeRefinementPairs(['A.'], { seed: 0, cleanRate: 1.5 }), /cleanRate must be in \[0, 1\]/);
  assert.throws(() => makeRefinementPairs(['A.'], { seed: 0, cleanRate: 0.5, maxCorruptions: 0 }), /maxCorruptions/);
  assert.throws(() => makeRefinementPairs(['A.'], { seed: 0, cleanRate: 0.5, kinds: ['bogus' as never] }), /unknown corruption kind bogus/);
});
