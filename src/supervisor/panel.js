// The supervisor's dashboard panel: one row per service instance (state,
// pid, uptime, restarts, CPU, memory; why, when it is not running) and the watched
// disks, from /status's `services` every 5 s.
//
// A plain ES module with no build step, served at /supervisor/panel.js and
// mounted by the dashboard like a recipe's panel (the contract:
// DashboardPanel in src/http/extension.ts). Data reaches the page through
// textContent only.

const REFRESH_MS = 5_000;

/**
 * @param {HTMLElement} section
 * @param {any} helpers the dashboard's utilities (see DashboardPanel)
 */
export async function mount(section, helpers) {
  await helpers.stylesheet(new URL('./panel.css', import.meta.url).pathname);
  const view = new ServicesPanel(section, helpers);
  await view.load();
  window.setInterval(() => void view.load(), REFRESH_MS);
}

const COLUMNS = ['Service', 'State', 'PID', 'Uptime', 'Restarts', 'CPU', 'Memory'];

class ServicesPanel {
  /** @param {HTMLElement} section @param {any} helpers */
  constructor(section, helpers) {
    const el = helpers.el;
    this.helpers = helpers;
    section.classList.add('supervisor');
    this.summary = el('p', { class: 'supervisor-summary', id: 'supervisor-summary' });
    this.rows = el('tbody', { id: 'supervisor-rows' });
    this.disks = el('ul', { class: 'supervisor-disks', id: 'supervisor-disks' });
    section.append(
      this.summary,
      el(
        'div',
        { class: 'supervisor-scroll' },
        el(
          'table',
          { class: 'grid', id: 'supervisor-table' },
          el('caption', { class: 'sr-only' }, 'Supervised services'),
          el('thead', {}, el('tr', {}, ...COLUMNS.map((c) => el('th', { scope: 'col' }, c)))),
          this.rows,
        ),
      ),
      this.disks,
    );
  }

  async load() {
    const { el, setText, errorText, formatDuration } = this.helpers;
    let services;
    try {
      services = (await this.helpers.fetchJson('/status')).services;
    } catch (error) {
      setText(this.summary, `Services could not be read: ${errorText(error)}`);
      return;
    }
    const instances = Array.isArray(services?.instances) ? services.instances : [];
    const running = instances.filter((i) => i.state === 'running').length;
    const failing = instances.filter((i) => i.failing).length;
    setText(this.summary, `${running} of ${instances.length} running${failing > 0 ? `, ${failing} failing` : ''}`);
    this.rows.replaceChildren(
      ...instances.map((i) => {
        const name =
          i.instance > 0 || instances.some((o) => o.service === i.service && o.instance > 0)
            ? `${i.service}#${i.instance}`
            : i.service;
        const state = i.failing ? `${i.state} (failing)` : i.state;
        return el(
          'tr',
          { class: i.failing ? 'supervisor-failing' : i.state === 'running' ? '' : 'supervisor-down' },
          el('th', { scope: 'row' }, name),
          // Why it is not running (backoff, waiting, stopped) under its state.
          el('td', {}, state, i.state === 'running' ? '' : el('div', { class: 'hint' }, i.detail)),
          el('td', {}, i.pid === null ? '-' : String(i.pid)),
          el('td', {}, i.state === 'running' ? formatDuration(i.uptimeMs / 1000) : '-'),
          el('td', {}, String(i.restarts)),
          el('td', {}, cpuText(i)),
          el('td', {}, i.rssBytes === null ? '-' : `${(i.rssBytes / 1024 / 1024).toFixed(0)} MB`),
        );
      }),
    );
    const disks = Array.isArray(services?.disks) ? services.disks : [];
    this.disks.replaceChildren(
      ...disks.map((d) =>
        el(
          'li',
          { class: `supervisor-disk-${d.level}` },
          `${d.service}: ${d.path} ${d.freeBytes === null ? 'not read' : `${(d.freeBytes / 1024 ** 3).toFixed(1)} GB free`} (${d.level})`,
        ),
      ),
    );
  }
}

/** The window average when `limits.cpu` is set, else the run's CPU seconds. */
function cpuText(i) {
  if (typeof i.cpuPercent === 'number') return `${i.cpuPercent.toFixed(0)}%`;
  return i.cpuSeconds === null ? '-' : `${i.cpuSeconds.toFixed(1)} s`;
}
