// "What this decision teaches": a decision's game samples as the Training tab shows them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GameSample } from '../../../src/store/game';
import { decisionSamples, excerpt, promptText, PROMPT_EXCERPT_CHARS, teachingNote } from '../../../src/ui/decision-samples';

const context = [{ role: 'user' as const, content: 'Fix this.' }];
const follower: GameSample = {
  role: 'follower', record: 's1', transition: 'r0->r1', context,
  prompt: { messages: context, text: '<|user|>Fix this.\nteh fox<|assistant|>' },
  completion: { text: 'The fox.', tokenIds: [1, 2], logprobs: [-0.1, -0.2] }, score: 1,
};
const leader: GameSample = {
  role: 'leader', record: 's1', transition: 'x->r0', context, prompt: { messages: context },
  completion: { text: 'teh fox', logprobs: null }, score: 0,
};

test('a prompt shows as recorded, else as its messages', () => {
  assert.equal(promptText(follower.prompt), '<|user|>Fix this.\nteh fox<|assistant|>');
  assert.equal(promptText(leader.prompt), 'user: Fix this.');
});

test('long prompts keep their end, where the text being refined and the instruction are', () => {
  const long = `${'context '.repeat(100)}THE END`;
  const cut = excerpt(long);
  assert.equal(cut.length, PROMPT_EXCERPT_CHARS);
  assert.ok(cut.startsWith('…') && cut.endsWith('THE END'));
  assert.equal(excerpt('short'), 'short');
});

test('each sample keeps role, move, completion and score; Leader samples say whether the next run trains them', () => {
  const [f, l] = decisionSamples([follower, leader], false);
  assert.deepEqual(f, { role: 'follower', transition: 'r0->r1', prompt: promptText(follower.prompt), completion: 'The fox.', score: 1, behaviour: true, trains: true });
  assert.deepEqual(l, { role: 'leader', transition: 'x->r0', prompt: 'user: Fix this.', completion: 'teh fox', score: 0, behaviour: false, trains: false });
  assert.equal(decisionSamples([leader], true)[0].trains, true);
});

test('the note says why a decision teaches nothing, or what the scores mean', () => {
  assert.match(teachingNote('pending', []), /Undecided/);
  assert.match(teachingNote('accepted', []), /nothing/);
  const note = teachingNote('rejected', decisionSamples([follower, leader], false));
  assert.match(note, /^2 game sample\(s\)/);
  assert.match(note, /1 Leader sample\(s\) train only with slhf.training.leader/);
  assert.doesNotMatch(teachingNote('rejected', decisionSamples([follower, leader], true)), /train only/);
});
