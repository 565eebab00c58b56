// The pages behind the overview, by the URL's fragment (so the back button,
// reload and links work, and nothing is sent to the server):
//
//   #/cycles?loop=&outcome=   recent cycles of every loop, filtered
//   #/cycles/<id>?item=<key>  one cycle: facts, timeline of its items, items
//   #/failed?loop=            failed items, each with a retry button
//
// Everything shown comes from the store (GET /cycles, /cycles/:id,
// /items/failed); live events only tell a page to re-read or mark a retried
// item's outcome as it arrives.

import { getJson } from './api.js';
import { cycleHref, errorText, fmtDateTime, fmtJson, fmtMs, h, num, s } from './dom.js';
import { onRetryEvent, renderRetryStates, retryControls, storedRetry } from './retry.js';

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const OUTCOMES = ['ok', 'partial', 'failed', 'skipped', 'running'];
const RELOAD_GAP_MS = 1000;

/** Loop names for the filters (from the overview's snapshot). */
let loopNames = () => /** @type {string[]} */ ([]);
/** The page shown: what to re-read when a live event concerns it. */
let current = /** @type {{ kind: string, cycleId?: string, loop?: string } | null} */ (null);
let reloadTimer = 0;

/** @param {{ loops: () => string[] }} options */
export function initViews(options) {
  loopNames = options.loops;
  window.addEventListener('hashchange', () => {
    // In-page anchors (the skip link's #main) are not pages.
    if (location.hash === '' || location.hash.startsWith('#/')) void route(true);
  });
  void route(false);
}

function parseHash() {
  const raw = decodeURIComponent(location.hash.slice(1) || '/');
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  return { path, params: new URLSearchParams(q < 0 ? '' : location.hash.slice(location.hash.indexOf('?') + 1)) };
}

/** Shows the page the fragment names (or the overview), and moves focus to its heading when navigated to. */
async function route(moveFocus) {
  const { path, params } = parseHash();
  let kind = 'overview';
  if (path.startsWith('/cycles/')) kind = 'cycle';
  else if (path === '/cycles') kind = 'cycles';
  else if (path === '/failed') kind = 'failed';
  $('overview').hidden = kind !== 'overview';
  $('view').hidden = kind === 'overview';
  for (const link of document.querySelectorAll('#nav a')) {
    const target = link.getAttribute('href')?.slice(1) || '/';
    const active = target === '/' ? kind === 'overview' : target === `/${kind === 'cycle' ? 'cycles' : kind}`;
    if (active) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (kind === 'overview') {
    current = null;
    if (moveFocus) $('loops-heading').focus();
    return;
  }
  if (kind === 'cycle') current = { kind, cycleId: path.slice('/cycles/'.length) };
  else current = { kind, loop: params.get('loop') ?? '' };
  await render(params);
  // Built by the page itself (not in index.html).
  if (moveFocus) document.getElementById('view-heading')?.focus();
}

async function render(params = parseHash().params) {
  const page = current;
  if (!page) return;
  try {
    if (page.kind === 'cycle') await renderCycle(/** @type {string} */ (page.cycleId), params.get('item'));
    else if (page.kind === 'cycles') await renderCycles(page.loop ?? '', params.get('outcome') ?? '');
    else await renderFailed(page.loop ?? '');
  } catch (error) {
    $('view').replaceChildren(
      heading('Not available'),
      h('p', { class: 'notice', role: 'alert' }, `Could not read it from the server: ${errorText(error)}`),
      h('p', {}, h('a', { href: '#/' }, 'Back to the overview')),
    );
  }
}

function heading(text, ...more) {
  return h('h2', { id: 'view-heading', tabindex: '-1' }, text, ...more);
}

/** Re-reads the page shown, at most once a second (events come in bursts). */
function reloadSoon() {
  if (reloadTimer) return;
  reloadTimer = window.setTimeout(() => {
    reloadTimer = 0;
    const focused = document.activeElement?.id;
    void render().then(() => {
      if (focused) document.getElementById(focused)?.focus();
    });
  }, RELOAD_GAP_MS);
}

/**
 * A live event from the overview's stream: marks retried items' outcomes,
 * and re-reads the page when the event concerns it.
 * @param {{type: string, loop: string | null, data: any}} event
 */
export function onLiveEvent(event) {
  const data = event.data ?? {};
  onRetryEvent(event);
  if (!current) return;
  const ofLoop = !current.loop || current.loop === event.loop;
  // Re-reads rebuild the table: only for events that change what it shows (a
  // failed list re-read on every finished cycle would also move keyboard focus).
  if (current.kind === 'cycle' && data.cycleId === current.cycleId) reloadSoon();
  else if (current.kind === 'cycles' && event.type === 'cycle.finished' && ofLoop) reloadSoon();
  else if (current.kind === 'failed' && event.type === 'item.failed' && ofLoop) reloadSoon();
}

// ---------------------------------------------------------------------------
// Filters

function loopFilter(id, selected, onChange) {
  const select = h(
    'select',
    { id },
    h('option', { value: '' }, 'All loops'),
    ...loopNames().map((name) => h('option', { value: name, selected: name === selected }, name)),
  );
  select.addEventListener('change', () => onChange(/** @type {HTMLSelectElement} */ (select).value));
  return h('label', { class: 'filter' }, 'Loop ', select);
}

function outcomeFilter(selected, onChange) {
  const select = h(
    'select',
    { id: 'filter-outcome' },
    h('option', { value: '' }, 'All outcomes'),
    ...OUTCOMES.map((kind) => h('option', { value: kind, selected: kind === selected }, kind)),
  );
  select.addEventListener('change', () => onChange(/** @type {HTMLSelectElement} */ (select).value));
  return h('label', { class: 'filter' }, 'Outcome ', select);
}

function hashWith(path, params) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString();
  return `#${path}${query ? `?${query}` : ''}`;
}

// ---------------------------------------------------------------------------
// #/cycles

async function renderCycles(loop, outcome) {
  const query = hashWith('', { loop, outcome, limit: '100' }).slice(1);
  const { cycles } = await getJson(`/cycles${query}`);
  const list = Array.isArray(cycles) ? cycles : [];
  const go = (next) => {
    location.hash = hashWith('/cycles', { loop, outcome, ...next });
  };
  const rows = list.map((c) =>
    h(
      'tr',
      { 'data-cycle': c.id, 'data-outcome': c.outcome?.kind },
      h('td', {}, h('a', { href: cycleHref(c.id) }, fmtDateTime(c.startedAt))),
      h('td', {}, c.loop),
      h('td', {}, h('span', { class: `badge outcome-${c.outcome?.kind}` }, c.outcome?.kind ?? '?')),
      h('td', {}, c.trigger),
      h('td', { class: 'num' }, duration(c)),
      h('td', { class: 'num' }, counts(c)),
      h('td', { class: 'owner' }, c.owner),
    ),
  );
  $('view').replaceChildren(
    heading('Cycles'),
    h(
      'div',
      { class: 'filters', role: 'group', 'aria-label': 'Filters' },
      loopFilter('filter-loop', loop, (v) => go({ loop: v })),
      outcomeFilter(outcome, (v) => go({ outcome: v })),
    ),
    list.length === 0
      ? h('p', { class: 'empty' }, 'No cycles match these filters.')
      : table(
          'Cycles, newest first',
          ['Started', 'Loop', 'Outcome', 'Trigger', 'Took', 'Items ok/failed/skipped', 'Instance'],
          rows,
        ),
  );
}

function duration(c) {
  return num(c.finishedAt) === null ? 'running' : fmtMs(c.finishedAt - c.startedAt);
}

function counts(c) {
  const k = c.counts ?? {};
  return `${k.succeeded ?? 0} / ${k.failed ?? 0} / ${k.skipped ?? 0} of ${k.planned ?? 0}`;
}

function table(caption, columns, rows) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'grid wide' },
      h('caption', { class: 'sr-only' }, caption),
      h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, ...rows),
    ),
  );
}

// ---------------------------------------------------------------------------
// #/cycles/<id>

async function renderCycle(id, selectedKey) {
  const { cycle, items } = await getJson(`/cycles/${encodeURIComponent(id)}`);
  const list = Array.isArray(items) ? items : [];
  const o = cycle.outcome ?? { kind: 'running' };
  const facts = [
    ['Loop', h('a', { href: hashWith('/cycles', { loop: cycle.loop }) }, cycle.loop)],
    ['Tick', `${cycle.tickId} (${cycle.trigger})`],
    ['Started', fmtDateTime(cycle.startedAt)],
    ['Took', duration(cycle)],
    [
      'Steps',
      ['observe', 'plan', 'act']
        .filter((step) => num(cycle.steps?.[`${step}Ms`]) !== null)
        .map((step) => `${step} ${fmtMs(cycle.steps[`${step}Ms`])}`)
        .join(', ') || '—',
    ],
    ['Items', counts(cycle)],
    ['Instance', cycle.owner],
  ];
  if (o.kind === 'skipped') facts.push(['Reason', o.reason ?? '']);
  if (o.kind === 'failed')
    facts.push(['Error', `${o.step ?? ''} ${o.error?.name ?? 'Error'}: ${o.error?.message ?? ''}`]);
  const view = $('view');
  view.replaceChildren(
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Overview'), ' › ', h('a', { href: '#/cycles' }, 'Cycles')),
    heading(
      `Cycle of ${cycle.loop} `,
      h('span', { class: `badge outcome-${o.kind}`, 'data-field': 'outcome' }, o.kind),
    ),
    h('dl', { class: 'facts cycle-facts' }, ...facts.map(([dt, dd]) => h('div', {}, h('dt', {}, dt), h('dd', {}, dd)))),
    h('h3', {}, 'Timeline'),
    timeline(cycle, list),
    h('h3', {}, `Items (${list.length})`),
    list.length === 0
      ? h('p', { class: 'empty' }, 'This cycle has no item results (yet).')
      : table(
          'Items in the order they finished',
          ['Key', 'Status', 'Attempts', 'Took', 'Started', 'Payload', 'Result or error', 'Action'],
          list.map((item) => itemRow(item, cycle, item.key === selectedKey)),
        ),
  );
  if (selectedKey) {
    const row = [...view.querySelectorAll('tr[data-key]')].find((r) => r.getAttribute('data-key') === selectedKey);
    row?.scrollIntoView({ block: 'center' });
  }
  renderRetryStates();
}

function itemRow(item, cycle, selected) {
  const failed = item.status === 'failed';
  const result =
    failed || item.error ? `${item.error?.name ?? 'Error'}: ${item.error?.message ?? ''}` : fmtJson(item.output);
  return h(
    'tr',
    { 'data-key': item.key, 'data-status': item.status, 'data-selected': selected ? 'true' : null },
    h('th', { scope: 'row' }, item.key),
    h('td', {}, h('span', { class: `badge status-${item.status}` }, item.status)),
    h('td', { class: 'num' }, item.attempts),
    h('td', { class: 'num' }, fmtMs(item.durationMs)),
    h('td', {}, fmtDateTime(item.startedAt)),
    h('td', {}, h('pre', { class: 'json', 'data-field': 'payload' }, fmtJson(item.payload))),
    h('td', {}, h('pre', { class: failed ? 'json error' : 'json', 'data-field': 'result' }, result)),
    h('td', {}, failed ? retryControls(cycle.loop, cycle.id, item.key) : ''),
  );
}

/** The cycle's items as bars over its duration (SVG: no inline styles under the CSP). */
function timeline(cycle, items) {
  const W = 600;
  const ROW = 12;
  const start = cycle.startedAt;
  const end = num(cycle.finishedAt) ?? Math.max(start + 1, ...items.map((i) => i.finishedAt));
  const span = Math.max(1, end - start);
  const shown = items.slice(0, 100);
  const height = Math.max(1, shown.length) * ROW + 4;
  const x = (t) => Math.max(0, Math.min(W, ((t - start) / span) * W));
  const bars = shown.map((item, i) => {
    const x0 = x(item.startedAt);
    const rect = s('rect', {
      class: `bar status-${item.status}`,
      x: x0.toFixed(1),
      y: i * ROW + 2,
      width: Math.max(1.5, x(item.finishedAt) - x0).toFixed(1),
      height: ROW - 3,
    });
    const title = s('title');
    title.textContent = `${item.key}: ${item.status}, ${fmtMs(item.durationMs)}, ${item.attempts} attempt(s)`;
    rect.append(title);
    return rect;
  });
  const svg = s('svg', {
    class: 'gantt',
    viewBox: `0 0 ${W} ${height}`,
    preserveAspectRatio: 'none',
    role: 'img',
    'aria-label': `${items.length} items over ${fmtMs(span)}: each bar runs from an item's start to its end`,
  });
  svg.append(...bars);
  return h(
    'figure',
    { class: 'gantt-wrap' },
    svg,
    h('figcaption', { class: 'hint' }, `0 → ${fmtMs(span)}${items.length > 100 ? ' (first 100 items)' : ''}`),
  );
}

// ---------------------------------------------------------------------------
// #/failed

async function renderFailed(loop) {
  const { items } = await getJson(`/items/failed?limit=100${loop ? `&loop=${encodeURIComponent(loop)}` : ''}`);
  const list = Array.isArray(items) ? items : [];
  const rows = list.map((item) =>
    h(
      'tr',
      { 'data-key': item.key, 'data-loop': item.loop, 'data-cycle': item.cycleId },
      h('td', {}, fmtDateTime(item.finishedAt)),
      h('td', {}, item.loop),
      h('th', { scope: 'row' }, h('a', { href: cycleHref(item.cycleId, item.key) }, item.key)),
      h('td', { class: 'error-text' }, `${item.error?.name ?? 'Error'}: ${item.error?.message ?? ''}`),
      h('td', { class: 'num' }, item.attempts),
      h('td', { class: 'owner' }, item.owner),
      h('td', {}, retryControls(item.loop, item.cycleId, item.key, storedRetry(item.retry))),
    ),
  );
  $('view').replaceChildren(
    heading('Failed items'),
    h(
      'div',
      { class: 'filters', role: 'group', 'aria-label': 'Filters' },
      loopFilter('filter-loop', loop, (v) => {
        location.hash = hashWith('/failed', { loop: v });
      }),
    ),
    list.length === 0
      ? h('p', { class: 'empty' }, 'No failed items in the recent cycles.')
      : table(
          'Failed items, newest first',
          ['Failed at', 'Loop', 'Key', 'Error', 'Attempts', 'Instance', 'Retry'],
          rows,
        ),
  );
  renderRetryStates();
}
