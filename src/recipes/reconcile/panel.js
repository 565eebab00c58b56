// The reconcile recipe's dashboard panel: coverage per source, gaps by
// priority over time, and the last inventory.
//
// A plain ES module with no build step, served at /reconcile/panel.js and
// mounted by the dashboard (the contract: DashboardPanel in
// src/http/extension.ts). It polls GET /reconcile (the last gap report) and
// GET /reconcile/history (totals of earlier reports). No reconcile loop, or
// no report yet: the panel says so, or stays hidden for a 404 without loops.
//
// Data reaches the page through textContent and setAttribute only.

const REFRESH_MS = 15_000;
const BASE = new URL('.', import.meta.url).pathname.replace(/\/$/, '');
const PRIORITIES = ['critical', 'high', 'medium', 'low'];

/**
 * @param {HTMLElement} section
 * @param {any} helpers the dashboard's utilities (see DashboardPanel)
 */
export async function mount(section, helpers) {
  await helpers.stylesheet(new URL('./panel.css', import.meta.url).pathname);
  const view = new ReconcilePanel(section, helpers);
  await view.load();
  window.setInterval(() => void view.load(), REFRESH_MS);
}

class ReconcilePanel {
  /** @param {HTMLElement} section @param {any} helpers */
  constructor(section, helpers) {
    const el = helpers.el;
    this.section = section;
    this.helpers = helpers;
    section.classList.add('reconcile');
    this.summary = el('p', { class: 'reconcile-summary', id: 'reconcile-summary' });
    this.inventory = el('p', { class: 'hint', id: 'reconcile-inventory' });
    this.sources = el('tbody', { id: 'reconcile-sources' });
    this.history = el('div', { class: 'reconcile-history', id: 'reconcile-history', role: 'img' });
    section.append(
      this.summary,
      this.inventory,
      el(
        'table',
        { class: 'grid', id: 'reconcile-table' },
        el('caption', { class: 'sr-only' }, 'Coverage per source'),
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            el('th', { scope: 'col' }, 'Source'),
            el('th', { scope: 'col' }, 'Coverage'),
            el('th', { scope: 'col' }, 'Present'),
            el('th', { scope: 'col' }, 'Gaps'),
          ),
        ),
        this.sources,
      ),
      el('h3', {}, 'Gaps by priority over time'),
      this.history,
    );
  }

  async load() {
    const { setText, el, fetchJson, errorText, formatAge } = this.helpers;
    let report;
    try {
      report = await fetchJson(`${BASE}`);
    } catch (error) {
      if (error && error.status === 404) {
        this.section.hidden = false;
        setText(this.summary, 'No gap report yet: the first reconcile has not run.');
        return;
      }
      setText(this.summary, `Cannot read the gap report: ${errorText(error)}`);
      return;
    }
    this.section.hidden = false;
    const p = report.byPriority;
    setText(
      this.summary,
      `${report.loop}: ${report.total} gap(s) — critical ${p.critical}, high ${p.high}, medium ${p.medium}, low ${p.low}; ` +
        `coverage ${(report.coverage.ratio * 100).toFixed(1)}%; estimated ${report.estimatedMinutes} min`,
    );
    const inv = report.inventory;
    setText(
      this.inventory,
      `Inventory ${inv.description}: ${inv.objects} objects, ${inv.bytes} bytes, scanned ${formatAge(inv.scannedAt)} in ${Math.round(inv.tookMs)} ms`,
    );
    this.sources.replaceChildren(
      ...report.coverage.sources.map((s) => {
        const bar = el('meter', {
          min: '0',
          max: '1',
          value: String(s.ratio),
          title: `${(s.ratio * 100).toFixed(1)}%`,
        });
        return el(
          'tr',
          {},
          el('td', {}, s.source),
          el('td', {}, bar, ` ${(s.ratio * 100).toFixed(1)}%`),
          el('td', {}, `${s.present}/${s.expected}`),
          el('td', {}, String(report.bySource[s.source] ?? 0)),
        );
      }),
    );
    try {
      const history = await fetchJson(`${BASE}/history?loop=${encodeURIComponent(report.loop)}&limit=60`);
      this.renderHistory(history.entries);
    } catch (error) {
      setText(this.history, `Cannot read the history: ${errorText(error)}`);
    }
  }

  /** One stacked column per report: heights by priority, scaled to the largest total. */
  renderHistory(entries) {
    const { el } = this.helpers;
    const max = Math.max(1, ...entries.map((e) => e.total));
    this.history.setAttribute('aria-label', `gap totals of the last ${entries.length} reports`);
    this.history.replaceChildren(
      ...entries.map((e) => {
        const column = el('div', {
          class: 'reconcile-column',
          title: `${new Date(e.at).toISOString()}: ${e.total} gaps`,
        });
        for (const priority of PRIORITIES) {
          const n = e.byPriority[priority] ?? 0;
          if (n === 0) continue;
          const part = el('div', { class: `reconcile-part reconcile-${priority}` });
          part.style.height = `${(n / max) * 100}%`;
          column.append(part);
        }
        return column;
      }),
    );
  }
}
