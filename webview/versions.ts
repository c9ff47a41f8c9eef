// Trained Follower versions: a switcher for the Models tab and a list with metrics and roll back for
// the Training tab. Both send the extension a version to activate; it answers with the new list.
import type { PanelMessage, VersionSummary } from '../src/ui/panelProtocol';
import { custom, element } from './dom';

export function createVersionViews(send: (message: PanelMessage) => void): {
  switcher: HTMLElement;
  list: HTMLElement;
  show(active: string | null, versions: readonly VersionSummary[]): void;
} {
  const switcher = custom('vscode-single-select', { id: 'version-switcher', 'aria-label': 'Active Follower version' });
  switcher.addEventListener('change', () => {
    const version = (switcher as HTMLSelectElement).value;
    if (version) send({ type: 'activateVersion', version });
  });
  const rows = element('ul', { id: 'versions', class: 'versions', 'aria-label': 'Trained Follower versions, newest first' });
  const rollback = custom('vscode-button', { secondary: '', icon: 'discard', id: 'version-rollback' }, 'Roll back');
  rollback.addEventListener('click', () => send({ type: 'rollbackVersion' }));
  const list = element('div');
  list.append(element('h3', {}, 'Versions'), rows, rollback);
  return {
    switcher,
    list,
    show(active, versions) {
      const options = [{ value: 'base', label: 'base model (untrained)' }, ...versions.map((v) => ({ value: v.version, label: v.imported ? `${v.version} (imported)` : v.version }))];
      switcher.replaceChildren(...options.map((o) => {
        const option = custom('vscode-option', { value: o.value }, o.label);
        if (o.value === (active ?? 'base')) option.setAttribute('selected', '');
        return option;
      }));
      (switcher as HTMLSelectElement).value = active ?? 'base';
      rows.replaceChildren(...(versions.length === 0 ? [element('li', {}, 'No trained versions yet.')] : versions.map((v) => {
        const item = element('li', { 'data-version': v.version, class: v.version === active ? 'active' : '' });
        const accuracy = v.heldOutAccuracy === null ? 'held-out accuracy not measured' : `held-out accuracy ${v.heldOutAccuracy.toFixed(3)}`;
        const origin = v.imported ?? `${v.decisions} decisions (${v.samples} game samples), ${accuracy}`;
        item.append(element('span', {}, `${v.version}${v.version === active ? ' (active)' : ''}: ${new Date(v.createdAt).toLocaleString()}, ${origin} `));
        if (v.version !== active) {
          const activate = custom('vscode-button', { secondary: '', 'data-action': 'activate' }, 'Activate');
          activate.addEventListener('click', () => send({ type: 'activateVersion', version: v.version }));
          item.append(activate);
        }
        return item;
      })));
      rollback.toggleAttribute('disabled', active === null);
    },
  };
}
