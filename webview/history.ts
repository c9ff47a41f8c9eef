// The History tab: sessions newest first, each with its rounds as word-level diffs against the
// draft and its decision, plus search, a decision filter, delete, re-open, what it teaches and export.
import { wordDiff } from '../src/ui/word-diff';
import type { HistoryFilter, PanelMessage, SessionSummary } from '../src/ui/panel-protocol';
import { custom, element, icon } from './dom';
import { historyRounds, historySummary } from './history-text';

const DECISION_LABELS: Record<SessionSummary['decision'], string> = {
  pending: 'undecided', accepted: 'accepted', 'accepted-edited': 'accepted, then edited', rejected: 'rejected: kept the original', undone: 'accepted, then undone: kept the original',
};

function diffView(before: string, after: string): HTMLElement {
  const pre = element('pre', { class: 'diff' });
  for (const segment of wordDiff(before, after)) {
    if (segment.kind === 'same') pre.append(document.createTextNode(segment.text));
    else pre.append(element(segment.kind === 'added' ? 'ins' : 'del', {}, segment.text));
  }
  return pre;
}

function sessionView(session: SessionSummary, send: (message: PanelMessage) => void, explain: (id: string) => void): HTMLElement {
  const item = element('li', { class: 'session', 'data-session': session.id, 'data-decision': session.decision });
  const when = new Date(session.createdAt);
  const header = element('div', { class: 'session-header' });
  header.append(
    element('span', { class: 'when' }, `${when.toLocaleDateString()} ${when.toLocaleTimeString()}`),
    custom('vscode-badge', { variant: 'counter', class: `decision decision-${session.decision}` }, DECISION_LABELS[session.decision]),
    element('span', { class: 'lang' }, session.languageId),
  );
  const actions = element('div', { class: 'session-actions' });
  // Undecided (retried, or its review closed): it opens for review, and Accept or Reject decides it.
  const reopen = session.decision === 'pending'
    ? custom('vscode-button', { icon: 'diff', 'data-action': 'reopen', title: 'Open for review: Accept or Reject records your decision' }, 'Review…')
    : custom('vscode-button', { secondary: '', icon: 'diff', 'data-action': 'reopen', title: 'Re-open in the diff editor (read-only)' }, 'Re-open');
  reopen.addEventListener('click', () => send({ type: 'reopenSession', id: session.id }));
  const teaches = custom('vscode-button', { secondary: '', icon: 'mortar-board', 'data-action': 'teaches', title: 'Show the game samples this decision adds to training (Training tab)' }, 'What it teaches');
  teaches.addEventListener('click', () => explain(session.id));
  const remove = custom('vscode-button', { secondary: '', icon: 'trash', 'data-action': 'delete', title: 'Delete from the history' }, 'Delete');
  remove.addEventListener('click', () => send({ type: 'deleteSession', id: session.id }));
  actions.append(reopen, teaches, remove);
  item.append(header);
  if (session.instruction) item.append(element('p', { class: 'instruction' }, `Instruction: ${session.instruction}`));
  item.append(element('div', { class: 'label' }, session.draftSource === 'leader' ? 'Leader draft' : 'Your text'), element('pre', { class: 'draft' }, session.draft));
  for (const round of historyRounds(session)) {
    item.append(element('div', { class: `label${round.chosen ? ' chosen' : ''}` }, round.label), diffView(session.draft, round.text));
  }
  if (session.finalText !== undefined && session.round !== undefined) {
    item.append(element('div', { class: 'label chosen' }, 'Your edit of the chosen round'), diffView(session.rounds[session.round] ?? '', session.finalText));
  }
  item.append(actions);
  return item;
}

/** `explain` asks what a session's decision teaches and shows the answer (the Training tab). */
export function createHistoryTab(send: (message: PanelMessage) => void, explain: (id: string) => void): { content: HTMLElement[]; show(sessions: readonly SessionSummary[], total: number): void } {
  const search = custom('vscode-textfield', { id: 'history-search', placeholder: 'Search refinements', 'aria-label': 'Search refinements' });
  search.append(Object.assign(icon('search'), { slot: 'content-before' }));
  const filter = custom('vscode-single-select', { id: 'history-filter', 'aria-label': 'Filter by decision' });
  const filters: [HistoryFilter, string][] = [['all', 'All decisions'], ['pending', 'Undecided'], ['accepted', 'Accepted'], ['accepted-edited', 'Accepted, then edited'], ['rejected', 'Rejected'], ['undone', 'Accepted, then undone']];
  for (const [value, label] of filters) filter.append(custom('vscode-option', { value }, label));
  const query = () => send({
    type: 'queryHistory',
    text: String((search as HTMLInputElement).value ?? '').slice(0, 200),
    filter: ((filter as HTMLSelectElement).value || 'all') as HistoryFilter,
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(query, 200);
  });
  filter.addEventListener('change', query);
  const exportButton = custom('vscode-button', { icon: 'export', 'data-command': 'slhf.exportHistory', secondary: '' }, 'Export pairs…');
  exportButton.addEventListener('click', () => send({ type: 'runCommand', command: 'slhf.exportHistory' }));
  const toolbar = element('div', { class: 'toolbar' });
  toolbar.append(search, filter, exportButton);
  const summary = element('p', { id: 'history-summary', role: 'status' }, 'Loading the history…');
  const list = element('ul', { id: 'history', class: 'sessions', 'aria-label': 'Refinements, newest first' });
  return {
    content: [toolbar, summary, list],
    show(sessions, total) {
      const text = String((search as HTMLInputElement).value ?? '').trim();
      const decision = ((filter as HTMLSelectElement).value || 'all') as HistoryFilter;
      summary.textContent = historySummary(total, sessions.length, { text, filter: decision === 'all' ? null : filters.find(([v]) => v === decision)?.[1] ?? decision });
      list.replaceChildren(...sessions.map((s) => sessionView(s, send, explain)));
    },
  };
}
