// Trained Follower versions: a switcher for the Models tab and a list with metrics and roll back for
// the Training tab. Both send the extension a version to activate; it answers with the new list.
import type { PanelMessage, VersionList } from '../src/ui/panel-protocol';
import { custom, element } from './dom';
import { versionLine } from './version-text';

export function createVersionViews(send: (message: PanelMessage) => void): {
  switcher: HTMLElement;
  list: HTMLElement;
  show(list: VersionList): void;
} {
  const switcher = custom('vscode-single-select', { id: 'version-switcher', 'aria-label': 'Active Follower version' });
  switcher.addEventListener('change', () => {
    const version = (switcher as HTMLSelectElement).value;
    if (version) send({ type: 'activateVersion', version });
  });
  const rows = element('ul', { id: 'versions', class: 'versions', 'aria-label': 'Trained Follower versions, newest first' });
  const rollback = custom('vscode-button', { secondary: '', icon: 'discard', id: 'version-rollback' }, 'Roll back');
  rollback.addEventListener('click', () => send({ type: 'rollbackVersion' }));
  // What applies to the model in use when the active version does not, and how many versions belong to other models.
  const note = element('p', { id: 'versions-note', class: 'note' });
  const switcherNote = element('p', { id: 'version-switcher-note', class: 'note' });
  const list = element('div');
  list.append(element('h3', {}, 'Versions'), note, rows, rollback);
  const switcherBox = element('div');
  switcherBox.append(switcher, switcherNote);
  return {
    switcher: switcherBox,
    list,
    show({ active, versions, note: text }) {
      note.textContent = text;
      switcherNote.textContent = text;
      const options = [{ value: 'base', label: 'base model (untrained)' }, ...versions.map((v) => ({ value: v.version, label: v.imported ? `${v.version} (imported)` : v.version }))];
      switcher.replaceChildren(...options.map((o) => {
        const option = custom('vscode-option', { value: o.value }, o.label);
        if (o.value === (active ?? 'base')) option.setAttribute('selected', '');
        return option;
      }));
      (switcher as HTMLSelectElement).value = active ?? 'base';
      rows.replaceChildren(...(versions.length === 0 ? [element('li', {}, 'No trained versions for this model yet.')] : versions.map((v) => {
        const item = element('li', { 'data-version': v.version, class: v.version === active ? 'active' : '' });
        item.append(element('span', {}, `${versionLine(v, v.version === active)} `));
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
