// The Training tab: how many game samples the store's decisions make, whether the Leader trains too, the Train
// button, the chart area for loss, KL and judge score (filled while a training run reports its
// steps), and what the decision picked in History teaches (its game samples).
import type { DecisionSample, PanelMessage, PanelSettings, TrainingCounts, TrainingMetrics } from '../src/ui/panelProtocol';
import { polylinePoints, type ChartBox } from './chartScale';
import { custom, element, svg } from './dom';

const BOX: ChartBox = { width: 300, height: 120, padding: 6 };
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
  train.addEventListener('click', () => send({ type: 'runCommand', command: 'slhf.trainFollower' }));
  // slhf.training.leader; the note says what the next run does with the Leader given the models.
  const trainLeader = custom('vscode-checkbox', { id: 'train-leader', label: 'Train the Leader too (one adapter shared with the Follower)' });
  trainLeader.addEventListener('change', () => send({ type: 'setTrainLeader', value: Boolean((trainLeader as HTMLInputElement).checked) }));
  const leaderNote = element('p', { id: 'train-leader-note', class: 'note' });
  const chart = svg('svg', { id: 'training-chart', viewBox: `0 0 ${BOX.width} ${BOX.height}`, role: 'img', 'aria-label': 'Training metrics per step: no training run yet' });
  const frame = svg('rect', { x: 0.5, y: 0.5, width: BOX.width - 1, height: BOX.height - 1, class: 'chart-frame' });
  const lines = SERIES.map((s) => svg('polyline', { fill: 'none', stroke: s.color, 'stroke-width': 1.5, 'data-series': s.key }));
  chart.append(frame, ...lines);
  const legend = element('p', { class: 'legend' });
  for (const s of SERIES) {
    const swatch = element('span', { class: `swatch swatch-${s.key}`, 'aria-hidden': 'true' });
    legend.append(swatch, document.createTextNode(` ${s.label}  `));
  }
  const note = element('p', { id: 'training-note' }, 'No training run yet. Loss, KL and judge score per step appear here while the Follower trains.');
  const teachingNote = element('p', { id: 'teaching-note', role: 'status' }, 'Choose "What it teaches" on a refinement in the History tab to see the game samples its decision adds to training.');
  const teaching = element('ul', { id: 'teaching', class: 'samples', 'aria-label': 'Game samples of the chosen decision' });
  return {
    content: [
      element('h3', {}, 'Your decisions as training data'), counts, trainLeader, leaderNote, train, element('h3', {}, 'Progress'), chart, legend, note,
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
        ['Follower samples', String(c.followerSamples)],
        ['Leader samples', String(c.leaderSamples)],
        ['With behaviour log-probs', String(c.samplesWithLogprobs)],
      ];
      counts.replaceChildren(...rows.flatMap(([name, value]) => [element('dt', {}, name), element('dd', { 'data-count': name }, value)]));
    },
    showSettings(settings) {
      (trainLeader as HTMLInputElement).checked = settings.trainLeader;
      leaderNote.textContent = settings.leaderNote;
      train.textContent = settings.leaderTrains ? 'Train Leader and Follower' : 'Train Follower';
    },
    showMetrics(m) {
      SERIES.forEach((s, i) => lines[i].setAttribute('points', polylinePoints(m[s.key], BOX)));
      chart.setAttribute('aria-label', `Training metrics over ${m.loss.length} steps`);
      note.textContent = `${m.loss.length} step(s).`;
    },
  };
}
