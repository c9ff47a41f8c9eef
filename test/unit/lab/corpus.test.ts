// The corpus filter on invented text in the fortune file format (no corpus text is committed), and
// the clear error when the package is not installed. Run: node --import tsx --test test/unit/lab/corpus.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALL_FORTUNES, CorpusMissingError, cookieUnits, extractSentences, isCleanSentence, loadCorpus, MIN_FORTUNES } from '../../../lab/corpus';

const FILE = [
  'A quiet morning makes a good start to the week.',
  'Two lines that are wrapped\nin the file.  They join into one unit.',
  'Be kind to your neighbours.\n\t\t-- Somebody Famous',
  'Q:\tWhat has four legs and sleeps all day?\nA:\tA very tired table, of course.',
  'Knock, knock!\n\tWho is there?',
  'THIS IS SHOUTING AT THE READER.',
  'Mr. Smith went to town on a sunny day.',
  'Too short.',
  'One. Two whole sentences are here. And a third sentence that stands alone.',
  'Hooray!!!! That is far too much excitement for us.',
  'No final mark at the end of this line',
].join('\n%\n');

test('keeps short clean prose; drops attributions, dialogue, shouting, abbreviations and fragments', () => {
  assert.deepEqual(extractSentences(FILE), [
    'A quiet morning makes a good start to the week.',
    'Two lines that are wrapped in the file. They join into one unit.',
    'Be kind to your neighbours.',
    'What has four legs and sleeps all day?',
    'A very tired table, of course.',
    'Two whole sentences are here.',
    'And a third sentence that stands alone.',
  ]);
  assert.deepEqual(cookieUnits('\t\t-- Only An Attribution'), []);
  assert.equal(isCleanSentence('x'.repeat(20)), false);
  assert.equal(isCleanSentence(`A${' word'.repeat(30)}.`), false); // over 120 characters
  assert.equal(isCleanSentence('Caf\u00e9 au lait is a fine drink.'), false); // not ASCII
});

test('loads, dedupes and splits installed files deterministically; a clear error when they are missing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fortunes-'));
  try {
    assert.throws(() => loadCorpus({ dir, source: MIN_FORTUNES }), (e: Error) => e instanceof CorpusMissingError && /apt-get install fortunes-min`/.test(e.message));
    const many = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} is a plain one.`).join('\n%\n');
    writeFileSync(join(dir, 'fortunes'), `${many}\n%\n${many}`);
    writeFileSync(join(dir, 'literature'), '');
    writeFileSync(join(dir, 'riddles'), '');
    const a = loadCorpus({ dir, source: MIN_FORTUNES, heldOutFraction: 0.25 });
    assert.equal(a.train.length + a.heldOut.length, 40);
    assert.ok(a.heldOut.length > 0 && a.heldOut.every((s) => !a.train.includes(s)));
    assert.deepEqual(loadCorpus({ dir, source: MIN_FORTUNES, heldOutFraction: 0.25 }), a);
    // The whole package: its own install hint while its files are missing, and the small corpus's
    // held-out sentences stay held out in it.
    assert.throws(() => loadCorpus({ dir }), (e: Error) => e instanceof CorpusMissingError && /apt-get install fortunes`/.test(e.message));
    const more = Array.from({ length: 60 }, (_, i) => `Another plain sentence, number ${i}.`).join('\n%\n');
    for (const f of ALL_FORTUNES.files.filter((f) => !MIN_FORTUNES.files.includes(f))) writeFileSync(join(dir, f), f === 'work' ? more : '');
    const all = loadCorpus({ dir, heldOutFraction: 0.25 });
    assert.equal(all.train.length + all.heldOut.length, 100);
    assert.ok(a.heldOut.every((s) => all.heldOut.includes(s)) && a.train.every((s) => all.train.includes(s)));
    assert.equal(all.source.package, 'fortunes');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
