// The Training tab: how many game samples the store's decisions make, whether the Leader trains too, the Train
// button, the chart area for loss, KL and judge score (filled while a training run reports its
// steps), and what the decision picked in History teaches (its game samples).
import type { DecisionSample, PanelMessage, PanelSettings, TrainingCounts, TrainingMetrics } from '../src/ui/panel-protocol';
import { formatValue, polylinePoints, seriesLegend, seriesRange, type ChartBox } from './chart-scale';
import { trainGate } from '../src/ui/train-gate';
import { custom, element, svg } from './dom';
import { chartNote, runEnded, type ChartRun } from './training-note';

// The plot area sits right of the loss axis' labels and above the step axis'.
const AXIS_LEFT = 40;
const AXIS_BOTTOM = 16;
const BOX: ChartBox = { width: 300, height: 120, padding: 6 };
const CHART = { width: AXIS_LEFT + BOX.width, height: BOX.height + AXIS_BOTTOM };
const SERIES: { key: keyof TrainingMetrics; label: string; color: string }[] = [
  { key: 'loss', label: 'loss', color: 'var(--vscode-charts-blue)' },
  { key: 'kl', label: 'KL', color: 'var(--vscode-charts-orange)' },
  { key: 'score', label: 'judge score', color: 'var(--vscode-charts-green)' },
];

export interface TrainingTab {
  content: Element[];
  showCounts(c: TrainingCounts): void;
  showMetrics(m: TrainingMetrics): void;
  showSettings(s: PanelSettings): void;
  /** How many versions exist for this model (the chart's note says where they came from before a run here). */
  showVersionCount(n: number): void;
  /** A training run started from this panel: the last run's chart and notes go. */
  trainingStarted(): void;
  /** That run's outcome arrived: if no step came, the chart stops waiting for one. */
  trainingEnded(): void;
  /** The game samples of the session picked in History ("What it teaches"). */
  showTeaching(samples: readonly DecisionSample[], note: string): void;
}

const ROLE_LABELS: Record<DecisionSample['role'], string> = { follower: 'Follower', leader: 'Leader' };

function sampleView(sample: DecisionSample): HTMLElement {
  const item = element('li', { class: `sample${sample.trains ? '' : ' idle'}`, 'data-role': sample.role, 'data-score': String(sample.score) });
  const origin = sample.behaviour ? 'sampled by the model (behaviour log-probs recorded)' : 'not sampled by this model (no behaviour log-probs)';
  const idle = sample.trains ? '' : ', not trained in the next run';
  item.append(
    element('div', { class: 'sample-header' }, `${ROLE_LABELS[sample.role]} ${sample.transition}: score ${sample.score}${idle}`),
    element('div', { class: 'label' }, 'Prompt (its end)'), element('pre', { class: 'sample-prompt' }, sample.prompt),
    element('div', { class: 'label' }, `Completion, ${origin}`), element('pre', { class: 'sample-completion' }, sample.completion),
  );
  return item;
}

export function createTrainingTab(send: (message: PanelMessage) => void): TrainingTab {
  const counts = element('dl', { id: 'training-counts' });
  const train = custom('vscode-button', { icon: 'rocket', 'data-command': 'slhf.trainFollower' }, 'Train Follower');
  const trainNote = element('p', { id: 'train-note', class: 'note', role: 'status' });
  // Train needs decisions the newest version for this model has not seen: another run on the same
  // data only makes a copy (v0002, v0003 on one set of decisions).
  let state = { leaderTrains: false, counts: null as TrainingCounts | null };
  let run: ChartRun = { kind: 'none', versions: 0 };
  const showTrain = () => {
    train.textContent = state.leaderTrains ? 'Train Leader and Follower' : 'Train Follower';
    const c = state.counts;
    const gate = c ? trainGate(c) : { ready: false, note: '' };
    train.toggleAttribute('disabled', !gate.ready);
    trainNote.textContent = gate.note;
  };
  train.addEventListener('click', () => {
    if (!train.hasAttribute('disabled')) send({ type: 'runCommand', command: 'slhf.trainFollower' });
  });
  // slhf.training.leader; the note says what the next run does with the Leader given the models.
  const trainLeader = custom('vscode-checkbox', { id: 'train-leader', label: 'Train the Leader too (one adapter shared with the Follower)' });
  trainLeader.addEventListener('change', () => send({ type: 'setTrainLeader', value: Boolean((trainLeader as HTMLInputElement).checked) }));
  const leaderNote = element('p', { id: 'train-leader-note', class: 'note' });
  const chart = svg('svg', { id: 'training-chart', viewBox: `0 0 ${CHART.width} ${CHART.height}`, role: 'img', 'aria-label': 'Training metrics per step: no training run yet' });
  const plot = svg('g', { transform: `translate(${AXIS_LEFT},0)` });
  const frame = svg('rect', { x: 0.5, y: 0.5, width: BOX.width - 1, height: BOX.height - 1, class: 'chart-frame' });
  const lines = SERIES.map((s) => svg('polyline', { fill: 'none', stroke: s.color, 'stroke-width': 1.5, 'data-series': s.key }));
  plot.append(frame, ...lines);
  // Axes: the loss scale on the left (KL and judge score are drawn to their own ranges, given in the legend), steps below.
  const axisText = (attributes: Record<string, string | number>, text: string) => {
    const node = svg('text', { class: 'axis-label', ...attributes });
    node.textContent = text;
    return node;
  };
  const lossMax = axisText({ x: AXIS_LEFT - 3, y: BOX.padding + 4, 'text-anchor': 'end', 'data-axis': 'loss-max' }, '');
  const lossMin = axisText({ x: AXIS_LEFT - 3, y: BOX.height - BOX.padding, 'text-anchor': 'end', 'data-axis': 'loss-min' }, '');
  const lossTitle = axisText({ x: 2, y: BOX.height / 2, 'data-axis': 'loss-title' }, 'loss');
  const stepFirst = axisText({ x: AXIS_LEFT + BOX.padding, y: CHART.height - 3, 'data-axis': 'step-first' }, '');
  const stepLast = axisText({ x: AXIS_LEFT + BOX.width - BOX.padding, y: CHART.height - 3, 'text-anchor': 'end', 'data-axis': 'step-last' }, '');
  const stepTitle = axisText({ x: AXIS_LEFT + BOX.width / 2, y: CHART.height - 3, 'text-anchor': 'middle' }, 'step');
  chart.append(plot, lossMax, lossMin, lossTitle, stepFirst, stepLast, stepTitle);
  const legend = element('ul', { class: 'legend', id: 'training-legend' });
  const legendItems = SERIES.map((s) => {
    const item = element('li', { 'data-series': s.key });
    const swatch = element('span', { class: `swatch swatch-${s.key}`, 'aria-hidden': 'true' });
    const text = element('span', {}, ` ${s.label}${s.key === 'loss' ? '' : ' (own scale)'}`);
    item.append(swatch, text);
    legend.append(item);
    return text;
  });
  const note = element('p', { id: 'training-note' });
  const showRun = (next: ChartRun) => {
    run = next;
    note.textContent = chartNote(run);
  };
  showRun(run);
  const teachingNote = element('p', { id: 'teaching-note', role: 'status' }, 'Choose "What it teaches" on a refinement in the History tab to see the game samples its decision adds to training.');
  const teaching = element('ul', { id: 'teaching', class: 'samples', 'aria-label': 'Game samples of the chosen decision' });
  return {
    content: [
      element('h3', {}, 'Your decisions as training data'), counts, trainLeader, leaderNote, train, trainNote, element('h3', {}, 'Progress'), chart, legend, note,
      element('h3', {}, 'What this decision teaches'), teachingNote, teaching,
    ],
    showTeaching(samples, text) {
      teachingNote.textContent = text;
      teaching.replaceChildren(...samples.map(sampleView));
    },
    showCounts(c) {
      const rows: [string, string][] = [
        ['Sessions', String(c.sessions)],
        ['Decided', String(c.decided)],
        ['New since the last version', c.since === null ? `${c.newDecided} (no version yet)` : `${c.newDecided} (since ${c.since})`],
        ['Follower samples', String(c.followerSamples)],
        ['Leader samples', String(c.leaderSamples)],
        ['With behaviour log-probs', String(c.samplesWithLogprobs)],
      ];
      counts.replaceChildren(...rows.flatMap(([name, value]) => [element('dt', {}, name), element('dd', { 'data-count': name }, value)]));
      state = { ...state, counts: c };
      showTrain();
    },
    showSettings(settings) {
      (trainLeader as HTMLInputElement).checked = settings.trainLeader;
      leaderNote.textContent = settings.leaderNote;
      state = { ...state, leaderTrains: settings.leaderTrains };
      showTrain();
    },
    showVersionCount(n) {
      if (run.kind === 'none') showRun({ kind: 'none', versions: n });
    },
    trainingStarted() {
      SERIES.forEach((_, i) => lines[i].setAttribute('points', ''));
      for (const label of [lossMax, lossMin, stepFirst, stepLast]) label.textContent = '';
      showRun({ kind: 'waiting' });
    },
    trainingEnded() {
      showRun(runEnded(run));
    },
    showMetrics(m) {
      SERIES.forEach((s, i) => {
        lines[i].setAttribute('points', polylinePoints(m[s.key], BOX));
        legendItems[i].textContent = ` ${seriesLegend(s.label, m[s.key])}${s.key === 'loss' ? '' : ' (own scale)'}`;
      });
      const loss = seriesRange(m.loss);
      lossMax.textContent = loss ? formatValue(loss.max) : '';
      lossMin.textContent = loss ? formatValue(loss.min) : '';
      stepFirst.textContent = m.loss.length ? '1' : '';
      stepLast.textContent = m.loss.length > 1 ? String(m.loss.length) : '';
      chart.setAttribute('aria-label', `Training metrics over ${m.loss.length} steps: ${SERIES.map((s) => seriesLegend(s.label, m[s.key])).join('; ')}`);
      showRun({ kind: 'steps', steps: m.loss.length });
    },
  };
}
