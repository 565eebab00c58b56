// The signals recipe's dashboard panel: the latest signal per symbol.
//
// A plain ES module with no build step, served at /signals/panel.js and
// mounted by the dashboard's panel loader (the contract: DashboardPanel in
// src/http/extension.ts). GET /signals on mount gives the latest signal of
// every symbol from the store (so the panel is full even if nobody watched
// while they were made) and the event-log position it was read at;
// GET /signals/stream then sends every signal stored after that position.
// No signals loop (`loops: []`, or a 404): the panel stays hidden.
//
// Every piece of data reaches the page through textContent or setAttribute
// on elements built here: never innerHTML.

/** Re-read /signals this often, in case the stream missed something. */
const REFRESH_MS = 60_000;
/** A signal older than this is shown as stale (greyed). */
const STALE_MS = 5 * 60_000;
/** Ages ("3 min") move slowly: re-rendered this often. */
const AGES_MS = 5_000;
/** After the stream closed for good (e.g. the server restarted), read /signals again after this long. */
const RECONNECT_MS = 5_000;

/** The recipe's path prefix, from where this module was served (`/signals/panel.js` -> `/signals`). */
const BASE = new URL('.', import.meta.url).pathname.replace(/\/$/, '');

/**
 * Fills `section` (headed by the dashboard) with the signals table and keeps
 * it up to date.
 * @param {HTMLElement} section
 * @param {any} helpers the dashboard's utilities (see DashboardPanel)
 */
export async function mount(section, helpers) {
  const view = new SignalsPanel(section, helpers);
  await helpers.stylesheet(new URL('./panel.css', import.meta.url).pathname);
  await view.load();
  window.setInterval(() => view.renderAges(), AGES_MS);
  window.setInterval(() => {
    // Only while the panel is shown: a runtime without a signals loop is asked once.
    if (!section.hidden) void view.load();
  }, REFRESH_MS);
}

class SignalsPanel {
  /** @param {HTMLElement} section @param {any} helpers */
  constructor(section, helpers) {
    this.section = section;
    this.helpers = helpers;
    this.loop = /** @type {string | null} */ (null);
    /** @type {Map<string, any>} symbol -> latest signal */
    this.bySymbol = new Map();
    /** @type {Map<string, HTMLTableRowElement>} */
    this.rows = new Map();
    /** The event-log position the panel is up to date with. */
    this.lastEventId = 0;
    this.source = /** @type {EventSource | null} */ (null);
    this.retryTimer = 0;

    const el = helpers.el;
    section.hidden = true;
    section.classList.add('signals');
    this.hint = el('span', { class: 'hint', id: 'signals-loop' });
    section.querySelector('h2')?.append(' ', this.hint);
    this.badge = el(
      'span',
      { class: 'badge', 'data-tone': 'warn', id: 'signals-simulated', hidden: true },
      'simulated data',
    );
    section.querySelector('.section-head')?.append(this.badge);
    this.body = el('tbody', { id: 'signals-body' });
    this.table = el(
      'table',
      { class: 'grid', id: 'signals-table', hidden: true },
      el('caption', { class: 'sr-only' }, 'Latest signal per symbol'),
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          el('th', { scope: 'col' }, 'Symbol'),
          el('th', { scope: 'col' }, 'Action'),
          el('th', { scope: 'col', class: 'num' }, 'Conf.'),
          el('th', { scope: 'col', class: 'num' }, 'Score'),
          el('th', { scope: 'col', class: 'num' }, 'Age'),
        ),
      ),
      this.body,
    );
    this.empty = el('p', { class: 'empty', id: 'signals-empty' }, 'No signals yet.');
    section.append(el('div', { class: 'table-wrap' }, this.table), this.empty);
  }

  async load() {
    const { setText, errorText, num } = this.helpers;
    let body;
    try {
      body = await this.helpers.fetchJson(BASE);
    } catch (error) {
      const status = /** @type {{status?: number}} */ (error).status;
      if (status === 404) {
        // No signals routes or loop in this runtime: no panel.
        this.section.hidden = true;
      } else if (status !== undefined) {
        setText(this.empty, `Signals unavailable (HTTP ${status}); retrying.`);
        this.section.hidden = false;
      } else {
        setText(this.empty, `Signals unavailable (${errorText(error)}).`);
      }
      return;
    }
    if (!body || typeof body !== 'object') return;
    if (Array.isArray(body.loops) && body.loops.length === 0) {
      this.section.hidden = true;
      return;
    }
    this.loop = typeof body.loop === 'string' ? body.loop : null;
    for (const signal of Array.isArray(body.signals) ? body.signals : []) this.merge(signal);
    const seq = num(body.lastEventId);
    if (seq !== null && seq > this.lastEventId) this.lastEventId = seq;
    this.section.hidden = false;
    setText(this.empty, 'No signals yet.');
    this.render();
    if (!this.source) this.connect();
  }

  connect() {
    this.source?.close();
    const query = new URLSearchParams();
    if (this.loop) query.set('loop', this.loop);
    query.set('after', String(this.lastEventId));
    const es = new EventSource(`${BASE}/stream?${query}`);
    this.source = es;
    es.addEventListener('signal', (message) => {
      const seq = Number(/** @type {MessageEvent} */ (message).lastEventId);
      if (Number.isFinite(seq) && seq > this.lastEventId) this.lastEventId = seq;
      let frame;
      try {
        frame = JSON.parse(/** @type {MessageEvent} */ (message).data);
      } catch {
        return;
      }
      const signal = frame?.signal;
      if (this.merge(signal)) this.render(signal.symbol);
    });
    es.addEventListener('error', () => {
      if (es.readyState !== EventSource.CLOSED || this.source !== es) return;
      // Closed for good (e.g. the server restarted): reconnect from where we were.
      this.source = null;
      window.clearTimeout(this.retryTimer);
      this.retryTimer = window.setTimeout(() => {
        void this.load();
      }, RECONNECT_MS);
    });
  }

  /** The time a signal is about (its tick's scheduled time), for "newer than". */
  time(signal) {
    const { num, tickTime } = this.helpers;
    return num(signal?.scheduledAt) ?? tickTime(signal?.tick) ?? num(signal?.generatedAt) ?? 0;
  }

  /** Keeps `signal` when it is about a later (or the same, regenerated) tick than the one shown. */
  merge(signal) {
    const { num } = this.helpers;
    if (!signal || typeof signal !== 'object' || typeof signal.symbol !== 'string') return false;
    const current = this.bySymbol.get(signal.symbol);
    if (current) {
      const a = this.time(current);
      const b = this.time(signal);
      if (b < a || (b === a && (num(signal.generatedAt) ?? 0) < (num(current.generatedAt) ?? 0))) return false;
    }
    this.bySymbol.set(signal.symbol, signal);
    return true;
  }

  /** @param {string} [fresh] the symbol that just arrived, highlighted briefly */
  render(fresh) {
    const { setText } = this.helpers;
    const all = [...this.bySymbol.values()].sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
    for (const [symbol, row] of this.rows) {
      if (!this.bySymbol.has(symbol)) {
        row.remove();
        this.rows.delete(symbol);
      }
    }
    all.forEach((signal, i) => {
      let row = this.rows.get(signal.symbol);
      if (!row) {
        row = this.newRow();
        row.dataset.symbol = signal.symbol;
        this.rows.set(signal.symbol, row);
      }
      this.fillRow(row, signal);
      if (this.body.children[i] !== row) this.body.insertBefore(row, this.body.children[i] ?? null);
    });
    if (fresh) {
      const row = this.rows.get(fresh);
      if (row) {
        row.classList.add('fresh');
        window.setTimeout(() => row.classList.remove('fresh'), 1500);
      }
    }
    const simulated = all.filter((s) => s.source?.simulated === true);
    this.badge.hidden = simulated.length === 0;
    this.badge.title = [...new Set(simulated.map((s) => String(s.source?.feed ?? 'simulated feed')))].join(', ');
    setText(this.hint, this.loop ? `(${this.loop}, ${all.length} symbols)` : '');
    this.table.hidden = all.length === 0;
    this.empty.hidden = all.length > 0;
  }

  newRow() {
    const el = this.helpers.el;
    return /** @type {HTMLTableRowElement} */ (
      el(
        'tr',
        {},
        el('td', {}, el('span', { class: 'symbol' }), el('span', { class: 'sim', hidden: true }, 'sim')),
        el('td', {}, el('span', { class: 'action' })),
        el('td', { class: 'num' }),
        el('td', { class: 'num' }),
        el('td', { class: 'num' }),
      )
    );
  }

  fillRow(row, signal) {
    const { setText, num, formatDateTime } = this.helpers;
    const [symbolCell, actionCell, confidenceCell, scoreCell, ageCell] = /** @type {HTMLElement[]} */ ([...row.cells]);
    setText(/** @type {HTMLElement} */ (symbolCell.firstElementChild), signal.symbol);
    const sim = /** @type {HTMLElement} */ (symbolCell.lastElementChild);
    sim.hidden = signal.source?.simulated !== true;
    sim.title = sim.hidden ? '' : `simulated: ${signal.source?.feed ?? 'simulated feed'}`;
    const action = /** @type {HTMLElement} */ (actionCell.firstElementChild);
    const name = typeof signal.action === 'string' ? signal.action : '?';
    action.dataset.action = name;
    setText(action, name);
    const confidence = num(signal.confidence);
    setText(confidenceCell, confidence === null ? '—' : `${Math.round(confidence * 100)} %`);
    const score = num(signal.score);
    setText(scoreCell, score === null ? '—' : `${score > 0 ? '+' : ''}${score.toFixed(2)}`);
    const reasons = Array.isArray(signal.reasons) ? signal.reasons.map(String) : [];
    row.title = [
      `${signal.symbol} ${name}`,
      `generated ${formatDateTime(num(signal.generatedAt))}`,
      signal.source?.feed ? `source: ${signal.source.feed}${signal.source.simulated ? ' (simulated)' : ''}` : '',
      ...reasons,
    ]
      .filter(Boolean)
      .join('\n');
    this.renderAge(row, signal, ageCell);
  }

  renderAge(row, signal, cell = /** @type {HTMLElement} */ (row.cells[4])) {
    const { setText, num, formatAge, serverNow } = this.helpers;
    const at = num(signal.generatedAt);
    setText(cell, at === null ? '—' : formatAge(at).replace(' ago', ''));
    row.classList.toggle('stale', at !== null && serverNow() - at > STALE_MS);
  }

  renderAges() {
    for (const [symbol, row] of this.rows) {
      const signal = this.bySymbol.get(symbol);
      if (signal) this.renderAge(row, signal);
    }
  }
}
