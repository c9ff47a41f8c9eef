// Following an accepted refinement's span through later edits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applySpanEdit, applySpanEdits, spanIntact, type SpanEdit, type TrackedSpan } from '../../../src/ui/range-tracker';

const span: TrackedSpan = { start: 10, end: 20, touched: false };

/** Applies edits to a string the way the tracker models them, to check spans against real text. */
function edit(text: string, e: SpanEdit, insert: string): string {
  assert.equal(insert.length, e.newLength);
  return text.slice(0, e.offset) + insert + text.slice(e.offset + e.length);
}

test('edits before the span shift it, edits after it leave it alone, neither touches it', () => {
  assert.deepEqual(applySpanEdit(span, { offset: 2, length: 3, newLength: 7 }), { start: 14, end: 24, touched: false });
  assert.deepEqual(applySpanEdit(span, { offset: 25, length: 3, newLength: 0 }), span);
});

test('edits inside or across the span resize it and mark it touched', () => {
  assert.deepEqual(applySpanEdit(span, { offset: 12, length: 2, newLength: 5 }), { start: 10, end: 23, touched: true });
  assert.deepEqual(applySpanEdit(span, { offset: 5, length: 10, newLength: 1 }), { start: 5, end: 11, touched: true });
  assert.deepEqual(applySpanEdit(span, { offset: 18, length: 5, newLength: 0 }), { start: 10, end: 18, touched: true });
});

test('typing right at either end counts as editing the span', () => {
  assert.deepEqual(applySpanEdit(span, { offset: 20, length: 0, newLength: 1 }), { start: 10, end: 21, touched: true });
  assert.deepEqual(applySpanEdit(span, { offset: 10, length: 0, newLength: 2 }), { start: 10, end: 22, touched: true });
});

test('the tracked span covers the same text after a sequence of edits around it', () => {
  let text = 'aaaaaaaaaa[tracked!]bbbbbbbbbb';
  let s: TrackedSpan = { start: 10, end: 20, touched: false };
  const steps: [SpanEdit, string][] = [
    [{ offset: 0, length: 4, newLength: 1 }, 'X'],
    [{ offset: 20, length: 2, newLength: 6 }, 'YYYYYY'],
    [{ offset: 3, length: 0, newLength: 3 }, 'ZZZ'],
  ];
  for (const [e, insert] of steps) {
    text = edit(text, e, insert);
    s = applySpanEdit(s, e);
  }
  assert.equal(text.slice(s.start, s.end), '[tracked!]');
  assert.equal(s.touched, false);
});

test('one change event with several edits is applied regardless of the order given', () => {
  const edits: SpanEdit[] = [{ offset: 1, length: 1, newLength: 3 }, { offset: 30, length: 0, newLength: 4 }, { offset: 15, length: 2, newLength: 0 }];
  const forward = applySpanEdits(span, edits);
  assert.deepEqual(forward, applySpanEdits(span, [...edits].reverse()));
  assert.deepEqual(forward, { start: 12, end: 20, touched: true });
});

test('spanIntact: edits elsewhere leave the refined text intact; an edit inside or a different text does not', () => {
  const span = { start: 10, end: 20, touched: false };
  const moved = applySpanEdit(span, { offset: 0, length: 0, newLength: 4 });
  assert.equal(spanIntact(moved, 'the text!!', 'the text!!'), true);
  assert.equal(spanIntact(applySpanEdit(span, { offset: 30, length: 2, newLength: 0 }), 'the text!!', 'the text!!'), true);
  assert.equal(spanIntact(applySpanEdit(span, { offset: 12, length: 1, newLength: 1 }), 'the text!!', 'the text!!'), false);
  assert.equal(spanIntact(span, 'the text??', 'the text!!'), false);
});
