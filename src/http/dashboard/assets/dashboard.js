// The autoloop dashboard's overview: plain ES modules with no dependencies and
// no build step (api.js: HTTP and the admin token; dom.js: elements and
// formats; admin.js: the token dialog and actions; views.js: the cycle,
// cycles and failed-items pages behind the URL's fragment; retry.js: retrying
// a failed item and showing how it ended).
//
// History comes from GET /status, /loops/:name/cycles and
// /loops/:name/history (chart points) on load; live
// changes from the SSE stream GET /events (EventSource resumes with
// Last-Event-ID on its own); /status and /tasks are polled every few seconds
// for the figures no event carries (in flight, latency, queue, instances).
// Recipes add panels of their own: /status lists each under
// recipes.<name>.panel, and the page imports its module and mounts it.
//
// Every piece of data reaches the page through textContent or setAttribute
// on elements built here: never innerHTML.

import { adminAction, announce, initAdmin } from './admin.js';
import { clock, getJson } from './api.js';
import { errorText, fmtDateTime, fmtDuration, fmtMs, fmtSchedule, fmtTime, h, num, s, setText } from './dom.js';
import { initViews, onLiveEvent } from './views.js';

const POLL_MS = 3000;
const MIN_REFRESH_GAP_MS = 800;
const TIMELINE_MAX = 50;
const EVENTS_MAX = 50;
/** Sparkline samples kept per loop: one per poll at most every SAMPLE_GAP_MS, so about 10 minutes. */
const SPARK_MAX = 200;
const SAMPLE_GAP_MS = 2500;
const RECONNECT_MS = 5000;
/** Cycle histories are re-read this often, in case a finish was missed (a stream gap). */
const HISTORY_MS = 30_000;
const PRIORITY_NAMES = ['critical', 'high', 'medium', 'low'];
const EVENT_TYPES = [
  'runtime.started',
  'runtime.stopping',
  'runtime.stopped',
  'cycle.started',
  'cycle.finished',
  'cycle.skipped',
  'item.started',
  'item.succeeded',
  'item.failed',
  'item.retried',
  'item.skipped',
  'loop.concurrency',
  'breaker.state',
  'backpressure.cooldown',
  'lease.lost',
  'lease.recovered',
  'alert.firing',
  'alert.resolved',
];

/** @typedef {{kind: string, reason?: string, failed?: number, step?: string, error?: {name?: string, message?: string}}} Outcome */
/** @typedef {{tick: string, id?: string, trigger?: string, scheduledAt?: number, startedAt?: number, finishedAt?: number | null, outcome: Outcome, counts?: {planned: number, succeeded: number, failed: number, skipped: number} | null, fromRecord?: boolean}} Cycle */

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

const state = {
  /** @type {Map<string, LoopView>} */
  loops: new Map(),
  uptime: { seconds: 0, at: 0, known: false },
  lastSeq: 0,
  /** Newest first. */
  events: /** @type {Array<{seq: number, at: number, type: string, loop: string | null, data: any}>} */ ([]),
  eventsNoItems: /** @type {Array<{seq: number, at: number, type: string, loop: string | null, data: any}>} */ ([]),
  /** @type {Map<number, HTMLLIElement>} */
  eventRows: new Map(),
  eventsDirty: false,
  lastRefresh: 0,
  refreshTimer: 0,
  refreshing: /** @type {Promise<void> | null} */ (null),
  owner: '',
  estimates: /** @type {Map<string, number | null>} */ (new Map()),
};

function fmtAgo(ms) {
  const v = num(ms);
  if (v === null) return 'never';
  const delta = serverNow() - v;
  return delta < 1500 ? 'just now' : `${fmtDuration(delta / 1000)} ago`;
}

function priorityName(p) {
  return typeof p === 'number' ? (PRIORITY_NAMES[p] ?? `p${p}`) : String(p);
}

const serverNow = () => Date.now() + clock.offset;
const parseTime = (iso) => (typeof iso === 'string' ? Date.parse(iso) : Number.NaN);

function showError(message) {
  const box = $('error');
  if (message) {
    setText(box, message);
    box.hidden = false;
  } else {
    box.hidden = true;
  }
}

// ---------------------------------------------------------------------------
// Loops

class LoopView {
  /** @param {string} name */
  constructor(name) {
    this.name = name;
    /** @type {any} */
    this.status = null;
    /** @type {Map<string, Cycle>} */
    this.cycles = new Map();
    /** @type {Map<string, HTMLLIElement>} */
    this.cells = new Map();
    /** @type {Array<{t: number, p95: number | null, limit: number | null, inFlight: number | null}>} */
    this.samples = [];
    /** The latest figures (captions), sampled or not. */
    this.current =
      /** @type {{t: number, p95: number | null, limit: number | null, inFlight: number | null} | null} */ (null);
    /** Set by cycle events between polls. */
    this.runningOverride = /** @type {boolean | null} */ (null);
    this.focusTick = /** @type {string | null} */ (null);

    const template = /** @type {HTMLTemplateElement} */ ($('loop-template'));
    this.root = /** @type {HTMLElement} */ (
      /** @type {DocumentFragment} */ (template.content.cloneNode(true)).firstElementChild
    );
    this.root.dataset.loop = name;
    this.root.setAttribute('aria-labelledby', `loop-${cssId(name)}`);
    /** @type {Record<string, HTMLElement>} */
    this.f = {};
    for (const node of this.root.querySelectorAll('[data-field]')) {
      this.f[/** @type {HTMLElement} */ (node).dataset.field ?? ''] = /** @type {HTMLElement} */ (node);
    }
    this.f.name.id = `loop-${cssId(name)}`;
    setText(this.f.name, name);
    this.f.timeline.setAttribute('aria-label', `Recent cycles of ${name}, oldest first`);

    const timeline = this.f.timeline;
    const show = (event) => {
      const cell = /** @type {HTMLElement | null} */ (event.target)?.closest?.('li[data-tick]');
      if (!cell) return;
      const cycle = this.cycles.get(cell.dataset.tick ?? '');
      if (cycle) setText(this.f.detail, describeCycle(cycle).join(' · '));
    };
    timeline.addEventListener('mouseover', show);
    timeline.addEventListener('focusin', (event) => {
      show(event);
      const cell = /** @type {HTMLElement | null} */ (event.target)?.closest?.('li[data-tick]');
      if (cell) this.focusTick = cell.dataset.tick ?? null;
    });
    timeline.addEventListener('keydown', (event) => this.onTimelineKey(event));
    // A cycle opens its page: click, or Enter on the focused cell.
    timeline.addEventListener('click', (event) => this.openCycle(event));
    this.f.run.setAttribute('aria-label', `Run now: ${name}`);
    this.f.run.addEventListener('click', () => void this.act('run'));
    this.f.pause.addEventListener('click', () => void this.act(this.status?.paused ? 'resume' : 'pause'));
    this.f['cycles-link'].setAttribute('href', `#/cycles?loop=${encodeURIComponent(name)}`);
    this.f['cycles-link'].setAttribute('aria-label', `All cycles of ${name}`);
    /** Chart points already taken from the stored history, by cycle id. */
    this.historyIds = new Set();
    /** Median item duration of the recent stored cycles (ms), for the queue estimate; null before any. */
    this.historyP50 = /** @type {number | null} */ (null);
  }

  /** @param {Event} event */
  openCycle(event) {
    const cell = /** @type {HTMLElement | null} */ (event.target)?.closest?.('li[data-tick]');
    const cycle = cell ? this.cycles.get(cell.dataset.tick ?? '') : undefined;
    if (cycle?.id) location.hash = `#/cycles/${encodeURIComponent(cycle.id)}`;
  }

  /** Run now, pause or resume, with the admin token; the result is announced. @param {string} verb */
  async act(verb) {
    const button = verb === 'run' ? this.f.run : this.f.pause;
    button.setAttribute('disabled', '');
    const res = await adminAction(`/loops/${encodeURIComponent(this.name)}/${verb}`);
    button.removeAttribute('disabled');
    if (!res.ok) {
      announce(`${this.name}: ${verb} refused: ${res.message}`, 'failed');
      return;
    }
    if (verb === 'run') {
      const kind = res.body?.outcome?.kind ?? 'done';
      announce(`${this.name}: ran a cycle now (${kind}).`, kind === 'ok' ? 'ok' : 'info');
    } else {
      if (this.status) this.status.paused = verb === 'pause';
      this.renderState();
      this.renderCountdown();
      announce(`${this.name}: ${verb === 'pause' ? 'paused' : 'resumed'}.`, 'ok');
    }
    void refreshOnce();
  }

  /** Arrow keys, Home and End move between cycles (one tab stop per timeline). */
  onTimelineKey(event) {
    const cells = [...this.f.timeline.children];
    const index = cells.indexOf(/** @type {Element} */ (document.activeElement));
    if (index < 0) return;
    let next = index;
    if (event.key === 'Enter') {
      this.openCycle(event);
      return;
    }
    if (event.key === 'ArrowLeft' || event.key === 'ArrowUp') next = Math.max(0, index - 1);
    else if (event.key === 'ArrowRight' || event.key === 'ArrowDown') next = Math.min(cells.length - 1, index + 1);
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = cells.length - 1;
    else return;
    event.preventDefault();
    const target = /** @type {HTMLElement} */ (cells[next]);
    for (const cell of cells) cell.setAttribute('tabindex', cell === target ? '0' : '-1');
    target.focus();
  }

  get running() {
    return this.runningOverride ?? Boolean(this.status?.running);
  }

  /** @param {any} status a loop of the /status snapshot */
  applyStatus(status) {
    this.status = status;
    this.runningOverride = null;
    setText(this.f.description, status.description ?? '');
    setText(this.f.schedule, fmtSchedule(status.schedule));
    this.f.schedule.title = String(status.schedule ?? '');
    const limit = num(status.concurrency);
    const inFlight = num(status.inFlight);
    const adaptive = status.adaptive;
    let flight = `${inFlight ?? '—'} of ${limit ?? '—'}`;
    if (adaptive) flight += ` (adaptive ${adaptive.min}–${adaptive.max})`;
    setText(this.f.inflight, flight);

    const lat = status.latency;
    setText(
      this.f.latency,
      lat && lat.count > 0 ? `${fmtMs(lat.p50)} / ${fmtMs(lat.p95)} / ${fmtMs(lat.p99)}` : 'no samples yet',
    );
    const bp = status.backpressure;
    setText(this.f.backpressure, bp ? `${bp.state}${bp.cooldowns ? `, ${bp.cooldowns} cooldowns` : ''}` : 'off');

    if (status.lastCycle) this.mergeCycle(fromRecord(status.lastCycle));
    // Polls also follow cycle events (up to one a second): sample at a steady pace.
    const now = serverNow();
    this.current = {
      t: now,
      p95: lat && lat.count > 0 ? num(lat.p95) : null,
      limit: adaptive ? num(adaptive.limit) : limit,
      inFlight,
    };
    if (now - (this.samples.at(-1)?.t ?? 0) >= SAMPLE_GAP_MS) this.addSample({ ...this.current });
    else this.renderSparks();
    this.renderState();
    this.renderLast();
    this.renderTimeline();
    this.renderCountdown();
  }

  addSample(sample) {
    this.samples.push(sample);
    // Event times and poll times interleave: keep the series in time order.
    if (this.samples.length > 1 && (this.samples.at(-2)?.t ?? 0) > sample.t) this.samples.sort((a, b) => a.t - b.t);
    if (this.samples.length > SPARK_MAX) this.samples.splice(0, this.samples.length - SPARK_MAX);
    this.renderSparks();
  }

  /** A new concurrency limit from a loop.concurrency event at `at`. */
  setLimit(limit, at) {
    const last = this.current ?? this.samples.at(-1);
    if (this.current) this.current = { ...this.current, limit };
    this.addSample({ t: at, p95: last?.p95 ?? null, limit, inFlight: last?.inFlight ?? null });
    const status = this.status;
    if (status) {
      if (status.adaptive) status.adaptive.limit = limit;
      else status.concurrency = limit;
      const adaptive = status.adaptive;
      let flight = `${num(status.inFlight) ?? '—'} of ${limit}`;
      if (adaptive) flight += ` (adaptive ${adaptive.min}–${adaptive.max})`;
      setText(this.f.inflight, flight);
    }
  }

  renderState() {
    const label = this.status?.paused ? 'paused' : this.running ? 'running' : 'idle';
    this.f.state.dataset.state = label;
    setText(this.f.state, label);
    const verb = this.status?.paused ? 'Resume' : 'Pause';
    setText(this.f.pause, verb);
    this.f.pause.setAttribute('aria-label', `${verb} ${this.name}`);
  }

  renderLast() {
    const last = this.newestFinished();
    const dd = this.f.last;
    if (!last) {
      setText(dd, 'none yet');
      dd.className = '';
      return;
    }
    const kind = last.outcome.kind;
    dd.className = `outcome-${kind}`;
    const when = num(last.finishedAt) ?? num(last.startedAt);
    setText(dd, `${kind}, ${fmtAgo(when)}`);
    dd.title = describeCycle(last).join('\n');
  }

  newestFinished() {
    let best = null;
    for (const c of this.cycles.values()) {
      if (c.outcome.kind === 'running') continue;
      if (!best || (c.startedAt ?? 0) >= (best.startedAt ?? 0)) best = c;
    }
    return best;
  }

  renderCountdown() {
    const status = this.status;
    const dd = this.f.next;
    if (!status) return;
    if (status.paused) {
      setText(dd, 'paused');
      dd.removeAttribute('title');
      return;
    }
    const at = parseTime(status.nextRunAt);
    if (!Number.isFinite(at)) {
      setText(dd, status.schedule === 'manual' ? 'on demand' : '—');
      dd.removeAttribute('title');
      return;
    }
    const left = at - serverNow();
    setText(dd, left > 500 ? `in ${fmtDuration(left / 1000)}` : 'due now');
    const title = fmtDateTime(at);
    if (dd.title !== title) dd.title = title;
  }

  /** @param {Cycle} next */
  mergeCycle(next) {
    const current = this.cycles.get(next.tick);
    this.cycles.set(next.tick, mergeCycles(current, next));
    if (this.cycles.size > TIMELINE_MAX) {
      const sorted = this.sortedCycles();
      for (const c of sorted.slice(0, sorted.length - TIMELINE_MAX)) this.cycles.delete(c.tick);
    }
  }

  sortedCycles() {
    return [...this.cycles.values()].sort(
      (a, b) => (a.startedAt ?? a.scheduledAt ?? 0) - (b.startedAt ?? b.scheduledAt ?? 0) || (a.tick < b.tick ? -1 : 1),
    );
  }

  renderTimeline() {
    const list = this.f.timeline;
    const cycles = this.sortedCycles();
    const keep = new Set(cycles.map((c) => c.tick));
    for (const [tick, cell] of this.cells) {
      if (!keep.has(tick)) {
        cell.remove();
        this.cells.delete(tick);
      }
    }
    const focusTick = this.focusTick && keep.has(this.focusTick) ? this.focusTick : cycles.at(-1)?.tick;
    cycles.forEach((cycle, i) => {
      let cell = this.cells.get(cycle.tick);
      if (!cell) {
        cell = /** @type {HTMLLIElement} */ (h('li', { 'data-tick': cycle.tick }, h('span', { class: 'sr-only' })));
        this.cells.set(cycle.tick, cell);
      }
      const kind = cycle.outcome.kind;
      const className = `cell ${kind}`;
      if (cell.className !== className) cell.className = className;
      cell.dataset.outcome = kind;
      const lines = describeCycle(cycle);
      const title = lines.join('\n');
      if (cell.title !== title) cell.title = title;
      setText(/** @type {HTMLElement} */ (cell.firstElementChild), lines.join(', '));
      cell.setAttribute('tabindex', cycle.tick === focusTick ? '0' : '-1');
      if (list.children[i] !== cell) list.insertBefore(cell, list.children[i] ?? null);
    });
    const running = cycles.filter((c) => c.outcome.kind === 'running').length;
    const finished = cycles.length - running;
    setText(
      this.f['cycle-count'],
      cycles.length ? `(last ${finished}${running ? `, ${running} running` : ''})` : '(none yet)',
    );
    if (cycles.length === 0 && list.children.length === 0) setText(this.f.detail, 'No cycles recorded yet.');
    else if (this.f.detail.textContent === 'No cycles recorded yet.')
      setText(this.f.detail, 'Hover or focus a cycle for its details.');
  }

  renderSparks() {
    const samples = this.samples;
    // The captions show the latest poll; the lines, the sampled history.
    const last = this.current ?? samples.at(-1);
    setText(this.f['p95-now'], last?.p95 === null || last?.p95 === undefined ? 'no samples yet' : fmtMs(last.p95));
    setText(this.f['conc-now'], last ? `limit ${last.limit ?? '—'}, ${last.inFlight ?? '—'} in flight` : '—');
    drawSpark(this.f['p95-spark'], samples, [{ key: 'p95', area: true }], (v) => fmtMs(v), 'p95 latency');
    // How many of the points came from the store (the tests read it; nothing is styled by it).
    this.f['p95-spark'].dataset.stored = String(this.historyIds.size);
    drawSpark(
      this.f['conc-spark'],
      samples,
      [
        { key: 'limit', area: false },
        { key: 'inFlight', area: true, secondary: true },
      ],
      (v) => String(Math.round(v)),
      'concurrency limit (solid) and items in flight (dashed)',
    );
  }

  async loadHistory() {
    const path = `/loops/${encodeURIComponent(this.name)}`;
    try {
      const [records, history] = await Promise.all([
        getJson(`${path}/cycles?limit=${TIMELINE_MAX}`),
        getJson(`${path}/history?limit=${TIMELINE_MAX}`),
      ]);
      if (Array.isArray(records)) for (const record of records) this.mergeCycle(fromRecord(record));
      this.addHistory(Array.isArray(history?.points) ? history.points : []);
    } catch (error) {
      setText(this.f.detail, `History unavailable: ${errorText(error)}`);
    }
    this.renderTimeline();
    this.renderLast();
  }

  /**
   * Chart points from the store (one per finished cycle: item p95, peak
   * items in flight), so the charts show the past after a reload too.
   */
  addHistory(points) {
    const p50s = [];
    for (const p of points) {
      if (num(p.p50Ms) !== null) p50s.push(p.p50Ms);
      if (this.historyIds.has(p.cycleId) || num(p.at) === null) continue;
      this.historyIds.add(p.cycleId);
      this.samples.push({ t: p.at, p95: num(p.p95Ms), limit: null, inFlight: num(p.peakInFlight) });
    }
    p50s.sort((a, b) => a - b);
    this.historyP50 = p50s.length > 0 ? (p50s[Math.floor(p50s.length / 2)] ?? null) : null;
    this.samples.sort((a, b) => a.t - b.t);
    if (this.samples.length > SPARK_MAX) this.samples.splice(0, this.samples.length - SPARK_MAX);
    this.renderSparks();
  }
}

function cssId(name) {
  return String(name).replace(/[^A-Za-z0-9_-]/g, '_');
}

/** @returns {Cycle} */
function fromRecord(r) {
  return {
    tick: String(r.tickId ?? r.id),
    id: r.id,
    trigger: r.trigger,
    scheduledAt: num(r.scheduledAt) ?? undefined,
    startedAt: num(r.startedAt) ?? undefined,
    finishedAt: num(r.finishedAt),
    outcome: r.outcome && typeof r.outcome.kind === 'string' ? r.outcome : { kind: 'running' },
    counts: r.counts ?? null,
    fromRecord: true,
  };
}

/**
 * One tick seen twice (a record and events, or two events): a finished
 * outcome beats running, a skip never hides a cycle that ran, records give
 * the exact times.
 * @param {Cycle | undefined} a @param {Cycle} b @returns {Cycle}
 */
function mergeCycles(a, b) {
  if (!a) return b;
  const merged = { ...a };
  for (const [key, value] of Object.entries(b)) {
    if (value === undefined || value === null) continue;
    if (key === 'outcome') continue;
    if ((key === 'startedAt' || key === 'scheduledAt') && a.fromRecord && !b.fromRecord && a[key] !== undefined)
      continue;
    merged[key] = value;
  }
  const ka = a.outcome.kind;
  const kb = b.outcome.kind;
  if (kb === 'running' && ka !== 'running') merged.outcome = a.outcome;
  else if (kb === 'skipped' && ka !== 'skipped' && ka !== 'running') merged.outcome = a.outcome;
  else merged.outcome = b.outcome;
  merged.fromRecord = Boolean(a.fromRecord || b.fromRecord);
  return merged;
}

/** Lines describing a cycle: outcome, tick, duration, counts, reason or error. */
function describeCycle(c) {
  const o = c.outcome;
  const lines = [o.kind];
  const tickAt = num(c.scheduledAt) ?? tickTime(c.tick);
  lines.push(`tick ${tickAt === null ? c.tick : fmtDateTime(tickAt)}${c.trigger ? ` (${c.trigger})` : ''}`);
  if (o.kind === 'running') {
    if (num(c.startedAt) !== null)
      lines.push(`running for ${fmtMs(serverNow() - /** @type {number} */ (c.startedAt))}`);
  } else if (num(c.finishedAt) !== null && num(c.startedAt) !== null && o.kind !== 'skipped') {
    lines.push(`took ${fmtMs(/** @type {number} */ (c.finishedAt) - /** @type {number} */ (c.startedAt))}`);
  }
  const k = c.counts;
  if (k && (k.planned > 0 || o.kind !== 'skipped')) {
    lines.push(`${k.planned} planned, ${k.succeeded} ok, ${k.failed} failed, ${k.skipped} skipped`);
  }
  if (o.kind === 'skipped' && o.reason) lines.push(`reason: ${o.reason}`);
  if (o.kind === 'failed') {
    const error = o.error ? `${o.error.name ?? 'Error'}: ${o.error.message ?? ''}` : 'error';
    lines.push(`${o.step ? `${o.step} ` : ''}${error}`);
  }
  return lines;
}

/** The time in a tick id (`loop@2024-01-05T10:00:00.000Z`), or null. */
function tickTime(tick) {
  const match = /@(?:manual:)?(\d{4}-\d\d-\d\dT[^:]+:\d\d:\d\d(?:\.\d+)?Z)/.exec(String(tick));
  if (!match) return null;
  const t = Date.parse(match[1] ?? '');
  return Number.isFinite(t) ? t : null;
}

/**
 * A small SVG sparkline over time.
 * @param {HTMLElement} svg
 * @param {Array<Record<string, any>>} samples
 * @param {Array<{key: string, area: boolean, secondary?: boolean}>} series
 * @param {(v: number) => string} format
 * @param {string} what
 */
function drawSpark(svg, samples, series, format, what) {
  const W = 200;
  const H = 40;
  const PAD = 3;
  const points = samples.filter((p) => series.some((sr) => num(p[sr.key]) !== null));
  const nodes = [];
  if (points.length === 0) {
    svg.setAttribute('aria-label', `${what}: no samples yet`);
    svg.replaceChildren(s('line', { class: 'line none', x1: 0, y1: H - PAD, x2: W, y2: H - PAD }));
    return;
  }
  const t0 = /** @type {number} */ (points[0]?.t);
  const t1 = /** @type {number} */ (points.at(-1)?.t);
  const span = Math.max(1, t1 - t0);
  let max = 0;
  let min = Number.POSITIVE_INFINITY;
  for (const p of points) {
    for (const sr of series) {
      const v = num(p[sr.key]);
      if (v !== null) {
        max = Math.max(max, v);
        min = Math.min(min, v);
      }
    }
  }
  const top = max > 0 ? max * 1.15 : 1;
  const x = (t) => (points.length === 1 ? W : ((t - t0) / span) * W);
  const y = (v) => H - PAD - (v / top) * (H - 2 * PAD);
  for (const sr of series) {
    const pts = points.filter((p) => num(p[sr.key]) !== null).map((p) => [x(p.t), y(p[sr.key])]);
    if (pts.length === 1) pts.unshift([0, /** @type {number[]} */ (pts[0])[1] ?? 0]);
    const line = pts.map(([px, py]) => `${(px ?? 0).toFixed(1)},${(py ?? 0).toFixed(1)}`).join(' ');
    if (sr.area && pts.length > 1) {
      const first = /** @type {number[]} */ (pts[0]);
      const lastPt = /** @type {number[]} */ (pts.at(-1));
      nodes.push(s('polygon', { class: 'area', points: `${first[0]},${H} ${line} ${lastPt[0]},${H}` }));
    }
    nodes.push(s('polyline', { class: sr.secondary ? 'line secondary' : 'line', points: line }));
  }
  const minutes = Math.max(1, Math.round(span / 60_000));
  svg.setAttribute(
    'aria-label',
    `${what} over the last ${span < 60_000 ? `${Math.round(span / 1000)} s` : `${minutes} min`}: min ${format(min)}, max ${format(max)}`,
  );
  svg.replaceChildren(...nodes);
}

function ensureLoop(name) {
  let view = state.loops.get(name);
  if (!view) {
    view = new LoopView(name);
    state.loops.set(name, view);
    $('loop-list').append(view.root);
    $('loops-empty').hidden = true;
    void view.loadHistory();
  }
  return view;
}

// ---------------------------------------------------------------------------
// The snapshot: header, loops, dependencies, queue, instances

function applySnapshot(snap) {
  state.owner = String(snap.owner ?? '');
  setText($('runtime-state'), snap.state ?? '—');
  state.uptime = { seconds: num(snap.uptimeS) ?? 0, at: Date.now(), known: num(snap.uptimeS) !== null };
  renderUptime();
  const instances = Array.isArray(snap.instances) ? snap.instances : [];
  setText($('runtime-instances'), instances.length);
  setText($('runtime-leases'), num(snap.leases?.active) ?? '—');
  const queue = Array.isArray(snap.queue) ? snap.queue : [];
  setText(
    $('runtime-queue'),
    queue.reduce((n, q) => n + (num(q.count) ?? 0), 0),
  );

  const loops = Array.isArray(snap.loops) ? snap.loops : [];
  const names = new Set();
  for (const loop of loops) {
    names.add(loop.name);
    ensureLoop(String(loop.name)).applyStatus(loop);
  }
  for (const [name, view] of state.loops) {
    if (!names.has(name)) {
      view.root.remove();
      state.loops.delete(name);
    }
  }
  const empty = $('loops-empty');
  empty.hidden = loops.length > 0;
  setText(empty, 'No loops are configured.');

  renderDependencies(Array.isArray(snap.dependencies) ? snap.dependencies : []);
  loadPanels(snap.recipes);
  renderQueue(
    queue,
    loops.map((l) => String(l.name)),
  );
  renderInstances(instances);
}

function renderUptime() {
  if (!state.uptime.known) return;
  setText($('runtime-uptime'), fmtDuration(state.uptime.seconds + (Date.now() - state.uptime.at) / 1000));
}

function breakerTone(stateName) {
  const v = String(stateName).toLowerCase();
  if (v === 'closed') return 'ok';
  if (v === 'open') return 'bad';
  return 'warn';
}

function renderDependencies(deps) {
  const body = $('deps-body');
  const rows = deps.map((d) => {
    const breaker = d.breaker
      ? h('span', { class: 'badge', 'data-tone': breakerTone(d.breaker.state) }, d.breaker.state)
      : h('span', { class: 'badge', 'data-tone': 'none' }, 'none');
    const lat = d.latency;
    return h(
      'tr',
      { 'data-dependency': d.name },
      h('td', {}, d.name),
      h('td', {}, breaker),
      h('td', { class: 'num' }, lat && lat.count > 0 ? fmtMs(lat.p95) : '—'),
      h('td', { class: 'num' }, lat && lat.count > 0 ? `${Math.round((num(lat.errorRate) ?? 0) * 100)} %` : '—'),
    );
  });
  body.replaceChildren(...rows);
  $('deps-table').hidden = deps.length === 0;
  $('deps-empty').hidden = deps.length > 0;
}

/** A breaker.state event between polls. */
function applyBreaker(name, to) {
  for (const row of $('deps-body').querySelectorAll('tr')) {
    if (/** @type {HTMLElement} */ (row).dataset.dependency !== name) continue;
    const badge = row.querySelector('.badge');
    if (badge) {
      badge.setAttribute('data-tone', breakerTone(to));
      setText(badge, to);
    }
  }
}

function renderQueue(queue, loopNames) {
  const priorities = new Set([0, 1, 2, 3]);
  for (const q of queue) if (typeof q.priority === 'number') priorities.add(q.priority);
  const columns = [...priorities].sort((a, b) => a - b);
  const byLoop = new Map();
  for (const q of queue) {
    const row = byLoop.get(q.loop) ?? new Map();
    row.set(q.priority, (row.get(q.priority) ?? 0) + (num(q.count) ?? 0));
    byLoop.set(q.loop, row);
  }
  const total = queue.reduce((n, q) => n + (num(q.count) ?? 0), 0);
  $('queue-head').replaceChildren(
    h('th', { scope: 'col' }, 'Loop'),
    ...columns.map((p) => h('th', { scope: 'col', class: 'num' }, priorityName(p))),
    h('th', { scope: 'col', class: 'num' }, 'Total'),
    h('th', { scope: 'col', class: 'num', title: 'Estimated time to drain' }, 'Est.'),
  );
  const names = [...new Set([...loopNames, ...byLoop.keys()])];
  const rows = names.map((name) => {
    const row = byLoop.get(name) ?? new Map();
    const sum = [...row.values()].reduce((n, c) => n + c, 0);
    const estimate = queueEstimate(name, sum);
    return h(
      'tr',
      {},
      h('th', { scope: 'row' }, name),
      ...columns.map((p) => h('td', { class: 'num' }, row.get(p) ?? 0)),
      h('td', { class: 'num' }, sum),
      h('td', { class: 'num', title: estimate.title }, estimate.text),
    );
  });
  $('queue-body').replaceChildren(...rows);
  $('queue-table').hidden = names.length === 0;
  const empty = $('queue-empty');
  setText(empty, total === 0 ? 'The queue is empty.' : `${total} items waiting or running.`);
  empty.hidden = names.length > 0 && total > 0;
}

/**
 * Time to drain a loop's queued items: the runtime's estimate (recent p50 ×
 * items / concurrency), else the same from the stored history's item
 * durations, else unknown until an item of the loop has run.
 */
function queueEstimate(name, count) {
  if (count === 0) return { text: '—', title: 'nothing queued' };
  const server = state.estimates.get(name);
  if (typeof server === 'number') {
    return { text: server < 1 ? '< 1 s' : fmtDuration(server), title: 'from the recent item latency' };
  }
  const view = state.loops.get(name);
  const p50 = view?.historyP50 ?? null;
  const concurrency = num(view?.status?.adaptive?.limit) ?? num(view?.status?.concurrency) ?? 1;
  if (p50 === null) return { text: 'unknown', title: 'no item of this loop has finished yet' };
  const seconds = (count * p50) / Math.max(1, concurrency) / 1000;
  return { text: `≈ ${seconds < 1 ? '< 1 s' : fmtDuration(seconds)}`, title: 'from the stored item durations' };
}

function renderInstances(instances) {
  const items = instances.map((i) => {
    const self = i.id === state.owner;
    const loops = Array.isArray(i.loops) ? i.loops.join(', ') : '';
    return h(
      'li',
      {},
      h('span', { class: 'owner' }, i.id ?? '?'),
      self ? ' (this process)' : null,
      h(
        'span',
        { class: 'meta' },
        `pid ${i.pid ?? '?'} · up ${fmtAgo(i.startedAt).replace(' ago', '')} · beat ${fmtAgo(i.lastBeatAt)}${loops ? ` · ${loops}` : ''}`,
      ),
    );
  });
  if (items.length === 0) items.push(h('li', { class: 'empty' }, 'No live instances.'));
  $('instances-list').replaceChildren(...items);
}

// ---------------------------------------------------------------------------
// Polling

async function refresh() {
  state.lastRefresh = Date.now();
  // Both at once; the estimates first, so the queue panel renders with this poll's figures.
  const [snap, tasks] = await Promise.allSettled([getJson('/status'), getJson('/tasks')]);
  state.estimates =
    tasks.status === 'fulfilled' && Array.isArray(tasks.value?.byLoop)
      ? new Map(tasks.value.byLoop.map((l) => [String(l.loop), num(l.estimatedSeconds)]))
      : new Map();
  if (snap.status === 'rejected') {
    showError(`Cannot read the runtime's status (${errorText(snap.reason)}). Retrying every ${POLL_MS / 1000} s.`);
    return;
  }
  applySnapshot(snap.value);
  showError('');
}

/** Refresh soon, at most once per MIN_REFRESH_GAP_MS (events come in bursts). */
function refreshSoon() {
  if (state.refreshTimer) return;
  const wait = Math.max(150, MIN_REFRESH_GAP_MS - (Date.now() - state.lastRefresh));
  state.refreshTimer = window.setTimeout(() => {
    state.refreshTimer = 0;
    void refreshOnce();
  }, wait);
}

function refreshOnce() {
  state.refreshing ??= refresh().finally(() => {
    state.refreshing = null;
  });
  return state.refreshing;
}

// ---------------------------------------------------------------------------
// Live events (SSE)

let source = /** @type {EventSource | null} */ (null);
let hadError = false;

function connect() {
  source?.close();
  // A reconnecting EventSource resumes by itself (Last-Event-ID); a new one
  // resumes with ?after=, or starts from the route's recent history.
  const es = new EventSource(state.lastSeq > 0 ? `/events?after=${state.lastSeq}` : '/events');
  source = es;
  setConnection('connecting', 'connecting…');
  es.addEventListener('open', () => {
    setConnection('live', 'live');
    if (hadError) {
      hadError = false;
      // Events missed while the stream was down are replayed from Last-Event-ID;
      // refresh the figures anyway (a new EventSource starts without one).
      void refreshOnce();
      for (const view of state.loops.values()) void view.loadHistory();
    }
  });
  es.addEventListener('error', () => {
    hadError = true;
    if (es.readyState === EventSource.CLOSED) {
      setConnection('closed', `disconnected, retrying in ${RECONNECT_MS / 1000} s`);
      window.setTimeout(() => {
        if (source === es) connect();
      }, RECONNECT_MS);
    } else {
      setConnection('reconnecting', 'reconnecting…');
    }
  });
  const onMessage = (/** @type {MessageEvent} */ message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    if (!event || typeof event !== 'object') return;
    if (typeof event.type !== 'string') event.type = message.type;
    handleEvent(event);
  };
  for (const type of EVENT_TYPES) es.addEventListener(type, onMessage);
  es.addEventListener('message', onMessage);
}

function setConnection(name, text) {
  const node = $('connection');
  node.dataset.state = name;
  setText($('connection-text'), text);
}

function handleEvent(event) {
  const seq = num(event.seq);
  if (seq !== null) {
    if (seq <= state.lastSeq) return;
    state.lastSeq = seq;
  }
  const at = num(event.at) ?? serverNow();
  const data = event.data && typeof event.data === 'object' ? event.data : {};
  const loopName = typeof event.loop === 'string' ? event.loop : typeof data.loop === 'string' ? data.loop : null;
  const view = loopName ? state.loops.get(loopName) : undefined;
  if (loopName && !view && event.type.startsWith('cycle.')) refreshSoon();

  switch (event.type) {
    case 'cycle.started':
      if (view) {
        view.mergeCycle({
          tick: String(data.tickId),
          id: data.cycleId,
          trigger: data.trigger,
          startedAt: at,
          finishedAt: null,
          outcome: { kind: 'running' },
        });
        view.runningOverride = true;
        view.renderState();
        view.renderTimeline();
      }
      refreshSoon();
      break;
    case 'cycle.finished':
      if (view) {
        const duration = num(data.durationMs);
        view.mergeCycle({
          tick: String(data.tickId),
          id: data.cycleId,
          startedAt: duration === null ? undefined : at - duration,
          finishedAt: at,
          outcome: data.outcome && typeof data.outcome.kind === 'string' ? data.outcome : { kind: 'ok' },
          counts: data.counts ?? null,
        });
        view.runningOverride = [...view.cycles.values()].some((c) => c.outcome.kind === 'running');
        view.renderState();
        view.renderTimeline();
        view.renderLast();
      }
      refreshSoon();
      break;
    case 'cycle.skipped':
      if (view) {
        view.mergeCycle({
          tick: String(data.tickId),
          startedAt: at,
          finishedAt: at,
          outcome: { kind: 'skipped', reason: data.reason },
        });
        view.renderTimeline();
        view.renderLast();
      }
      refreshSoon();
      break;
    case 'loop.concurrency':
      if (view && num(data.limit) !== null) view.setLimit(data.limit, at);
      break;
    case 'breaker.state':
      applyBreaker(String(data.breaker), String(data.to));
      break;
    case 'backpressure.cooldown':
    case 'runtime.started':
    case 'runtime.stopping':
    case 'runtime.stopped':
      refreshSoon();
      break;
    default:
      break;
  }
  pushEvent({ seq: seq ?? 0, at, type: event.type, loop: loopName, data });
  onLiveEvent({ type: event.type, loop: loopName, data });
}

function isItemEvent(type) {
  return type.startsWith('item.');
}

function pushEvent(event) {
  state.events.unshift(event);
  if (state.events.length > EVENTS_MAX) state.events.length = EVENTS_MAX;
  if (!isItemEvent(event.type)) {
    state.eventsNoItems.unshift(event);
    if (state.eventsNoItems.length > EVENTS_MAX) state.eventsNoItems.length = EVENTS_MAX;
  }
  if (!state.eventsDirty) {
    state.eventsDirty = true;
    // Batch bursts (a cycle's items finish together) into one render; a
    // timer rather than requestAnimationFrame so a background tab keeps up.
    window.setTimeout(renderEvents, 50);
  }
}

function renderEvents() {
  state.eventsDirty = false;
  const showItems = /** @type {HTMLInputElement} */ ($('show-items')).checked;
  const events = showItems ? state.events : state.eventsNoItems;
  const kept = new Set([...state.events, ...state.eventsNoItems].map((e) => e.seq));
  const shown = new Set(events.map((e) => e.seq));
  for (const [seq, row] of state.eventRows) {
    if (!shown.has(seq)) row.remove();
    if (!kept.has(seq)) state.eventRows.delete(seq);
  }
  const list = $('event-list');
  events.forEach((event, i) => {
    let row = state.eventRows.get(event.seq);
    if (!row) {
      row = eventRow(event);
      state.eventRows.set(event.seq, row);
    }
    if (list.children[i] !== row) list.insertBefore(row, list.children[i] ?? null);
  });
  while (list.children.length > events.length) list.lastElementChild?.remove();
  $('events-empty').hidden = events.length > 0;
}

function eventRow(event) {
  const [tone, summary] = summarise(event);
  return /** @type {HTMLLIElement} */ (
    h(
      'li',
      { 'data-type': event.type, 'data-tone': tone, 'data-seq': event.seq },
      h('time', { datetime: new Date(event.at).toISOString(), title: fmtDateTime(event.at) }, fmtTime(event.at)),
      h(
        'span',
        {},
        h('span', { class: 'type' }, event.type),
        event.loop ? h('span', { class: 'loop-name' }, event.loop) : null,
      ),
      summary ? h('span', { class: 'summary' }, summary) : null,
    )
  );
}

/** @returns {[string, string]} tone and a one-line summary */
function summarise(event) {
  const d = event.data ?? {};
  const err = (e) => (e ? `${e.name ?? 'Error'}: ${e.message ?? ''}` : '');
  switch (event.type) {
    case 'cycle.started':
      return ['info', `${d.trigger ?? ''} tick ${fmtTime(tickTime(d.tickId))}`.trim()];
    case 'cycle.finished': {
      const kind = d.outcome?.kind ?? '?';
      const c = d.counts;
      const counts = c
        ? `, ${c.succeeded}/${c.planned} ok${c.failed ? `, ${c.failed} failed` : ''}${c.skipped ? `, ${c.skipped} skipped` : ''}`
        : '';
      const error = kind === 'failed' && d.outcome?.error ? `: ${err(d.outcome.error)}` : '';
      const tone = kind === 'ok' ? 'ok' : kind === 'partial' ? 'warn' : kind === 'failed' ? 'bad' : 'none';
      return [tone, `${kind} in ${fmtMs(d.durationMs)}${counts}${error}`];
    }
    case 'cycle.skipped':
      return ['none', `skipped: ${d.reason ?? '?'}`];
    case 'item.started':
      return ['none', `${d.key} attempt ${d.attempt}`];
    case 'item.succeeded':
      return ['ok', `${d.key} in ${fmtMs(d.durationMs)}${d.attempts > 1 ? ` after ${d.attempts} attempts` : ''}`];
    case 'item.failed':
      return ['bad', `${d.key} after ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}: ${err(d.error)}`];
    case 'item.retried':
      return ['warn', `${d.key} attempt ${d.attempt} failed, retry in ${fmtMs(d.delayMs)}: ${err(d.error)}`];
    case 'item.skipped':
      return ['none', `${d.key}: ${d.reason ?? ''}`];
    case 'loop.concurrency':
      return ['info', `limit ${d.limit}`];
    case 'breaker.state':
      return [breakerTone(d.to) === 'ok' ? 'ok' : breakerTone(d.to), `${d.breaker}: ${d.from} → ${d.to}`];
    case 'backpressure.cooldown':
      return ['warn', `cooling down for ${d.ticks} tick${d.ticks === 1 ? '' : 's'}`];
    case 'lease.lost':
      return ['bad', `${d.key}: ${d.reason ?? ''}`];
    case 'lease.recovered':
      return ['warn', `${d.key} from ${d.previousOwner ?? '?'}`];
    case 'runtime.started':
      return ['info', `${d.owner ?? ''}`];
    case 'runtime.stopping':
      return ['warn', `${d.reason ?? ''}`];
    case 'runtime.stopped':
      return ['info', d.drained ? 'drained' : 'not drained'];
    case 'alert.firing':
      return ['bad', genericSummary(d)];
    case 'alert.resolved':
      return ['ok', genericSummary(d)];
    default:
      return ['none', genericSummary(d)];
  }
}

/** The first few scalar fields as `key=value`. */
function genericSummary(data) {
  return Object.entries(data)
    .filter(([key, v]) => key !== 'loop' && v !== null && ['string', 'number', 'boolean'].includes(typeof v))
    .slice(0, 5)
    .map(([key, v]) => `${key}=${String(v).slice(0, 120)}`)
    .join(' ');
}

// ---------------------------------------------------------------------------
// Recipe panels
//
// A recipe may bring a panel: /status lists it as recipes.<name>.panel =
// { title, script }. Each is mounted once: a section headed by the title,
// then the module imported (same origin, so the CSP's script-src 'self'
// allows it) and its mount(section, PANEL_HELPERS) awaited. A panel that
// fails to load or mount shows one error line in its section; the rest of
// the page is not affected. The contract: DashboardPanel in
// src/http/extension.ts.

/** Recipes whose panel was mounted (or tried). */
const mountedPanels = new Set();
/** Stylesheets linked for panels, by href. */
const panelStyles = new Map();

/** The page's utilities, lent to panels so they render and format like the rest of the page. */
const PANEL_HELPERS = Object.freeze({
  el: h,
  setText,
  fetchJson: getJson,
  num,
  formatMs: fmtMs,
  formatDuration: fmtDuration,
  formatAge: fmtAgo,
  formatTime: fmtTime,
  formatDateTime: fmtDateTime,
  serverNow,
  tickTime,
  errorText,
  stylesheet,
});

/** @param {unknown} recipes the snapshot's `recipes` */
function loadPanels(recipes) {
  if (!recipes || typeof recipes !== 'object') return;
  for (const [name, recipe] of Object.entries(recipes)) {
    const panel = recipe?.panel;
    if (mountedPanels.has(name) || !panel || typeof panel !== 'object') continue;
    mountedPanels.add(name);
    void mountPanel(name, String(panel.title ?? name), String(panel.script ?? ''));
  }
}

async function mountPanel(name, title, script) {
  // `<name>-panel…`: none of index.html's ids ends in -panel, so a recipe's name ("queue", "deps") cannot clash with one.
  const id = `${cssId(name)}-panel`;
  const head = h('div', { class: 'section-head' }, h('h2', { id: `${id}-heading` }, title));
  const section = h('section', { class: 'panel', id, 'data-recipe': name, 'aria-labelledby': `${id}-heading` }, head);
  $('recipe-panels').append(section);
  try {
    // Only a path on this origin (the CSP would refuse another anyway; this says why).
    if (!/^\/(?!\/)/.test(script)) throw new Error(`expected a module path on this origin, got "${script}"`);
    const module = await import(script);
    if (typeof module.mount !== 'function') throw new Error(`${script} exports no mount(section, helpers)`);
    await module.mount(section, PANEL_HELPERS);
  } catch (error) {
    section.replaceChildren(head, h('p', { class: 'panel-error' }, `This panel failed to load: ${errorText(error)}`));
    section.hidden = false;
  }
}

/**
 * Links a panel's stylesheet (once per href); resolves when it loaded or
 * failed, so a panel without its styles still shows.
 * @param {string} href
 * @returns {Promise<void>}
 */
function stylesheet(href) {
  let loaded = panelStyles.get(href);
  if (!loaded) {
    const link = h('link', { rel: 'stylesheet', href });
    loaded = new Promise((resolve) => {
      link.addEventListener('load', () => resolve(undefined), { once: true });
      link.addEventListener('error', () => resolve(undefined), { once: true });
    });
    panelStyles.set(href, loaded);
    document.head.append(link);
  }
  return loaded;
}

// ---------------------------------------------------------------------------
// Start

function tick() {
  for (const view of state.loops.values()) {
    view.renderCountdown();
  }
  renderUptime();
}

let lastSlowTick = 0;
function everySecond() {
  tick();
  // Relative times ("3 s ago") and running cells' durations move slowly: every 5 s.
  if (Date.now() - lastSlowTick > 5000) {
    lastSlowTick = Date.now();
    for (const view of state.loops.values()) view.renderLast();
  }
}

function start() {
  $('show-items').addEventListener('change', renderEvents);
  initAdmin();
  connect();
  // The pages' loop filters list the loops of the first snapshot.
  void refreshOnce().finally(() => initViews({ loops: () => [...state.loops.keys()] }));
  window.setInterval(() => {
    if (Date.now() - state.lastRefresh >= POLL_MS - 100) void refreshOnce();
  }, POLL_MS);
  window.setInterval(everySecond, 500);
  window.setInterval(() => {
    for (const view of state.loops.values()) void view.loadHistory();
  }, HISTORY_MS);
}

start();
