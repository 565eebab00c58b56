// The decide recipe's dashboard panel: per decide loop, each target's
// health score over time (one column per cycle, coloured by state) and the
// recent decisions with their confidence, result and rationale.
//
// A plain ES module with no build step, served at /decide/panel.js and
// mounted by the dashboard (the contract: DashboardPanel in
// src/http/extension.ts). It polls GET /decide. Data reaches the page
// through textContent and setAttribute only.

const REFRESH_MS = 15_000;
const BASE = new URL('.', import.meta.url).pathname.replace(/\/$/, '');

/**
 * @param {HTMLElement} section
 * @param {any} helpers the dashboard's utilities (see DashboardPanel)
 */
export async function mount(section, helpers) {
  await helpers.stylesheet(new URL('./panel.css', import.meta.url).pathname);
  section.classList.add('decide');
  const body = helpers.el('div', { id: 'decide-body' });
  section.append(body);
  const load = async () => {
    try {
      render(body, await helpers.fetchJson(`${BASE}/`), helpers);
    } catch (error) {
      body.replaceChildren(
        helpers.el('p', { class: 'decide-summary' }, `Cannot read /decide: ${helpers.errorText(error)}`),
      );
    }
  };
  await load();
  window.setInterval(() => void load(), REFRESH_MS);
}

/** @param {HTMLElement} body @param {any} data @param {any} helpers */
function render(body, data, helpers) {
  const { el, formatAge } = helpers;
  const parts = [];
  for (const loop of data.loops) {
    const latest = loop.latest;
    parts.push(
      el(
        'p',
        { class: 'decide-summary' },
        latest
          ? `${loop.name}: ${latest.targets.map((t) => `${t.target} ${t.score} (${t.state})`).join(', ')} — last cycle ${formatAge(latest.at)}${loop.dryRun ? ' — dry run' : ''}`
          : `${loop.name}: no cycle yet`,
      ),
    );
    const targets = [...new Set(loop.history.map((h) => h.target))];
    for (const target of targets) {
      const points = loop.history.filter((h) => h.target === target);
      const chart = el('div', {
        class: 'decide-chart',
        role: 'img',
        'aria-label': `${target}: health score of the last ${points.length} cycles`,
      });
      for (const p of points) {
        const column = el('div', {
          class: `decide-column decide-${p.state}`,
          title: `${new Date(p.at).toISOString()}: ${p.score} (${p.state})`,
        });
        column.style.height = `${Math.max(2, p.score * 100)}%`;
        chart.append(column);
      }
      parts.push(el('h3', {}, `${target}: score over time`), chart);
    }
    parts.push(
      el(
        'table',
        { class: 'grid' },
        el('caption', { class: 'sr-only' }, `Recent decisions of ${loop.name}`),
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            ...['When', 'Decision', 'Target', 'Confidence', 'Result', 'Rationale'].map((h) =>
              el('th', { scope: 'col' }, h),
            ),
          ),
        ),
        el(
          'tbody',
          {},
          ...loop.decisions.map((d) =>
            el(
              'tr',
              {},
              el('td', {}, formatAge(d.at)),
              el('td', {}, d.rule ? `${d.type} (${d.rule})` : d.type),
              el('td', {}, d.target),
              el('td', {}, String(d.confidence)),
              el('td', {}, d.result.kind),
              el('td', { class: 'decide-rationale' }, d.rationale),
            ),
          ),
        ),
      ),
    );
  }
  body.replaceChildren(...parts);
}
