// DOM and formatting helpers shared by the dashboard's modules. Data reaches
// the page only through textContent and setAttribute on elements built
// here: never innerHTML.

const SVG_NS = 'http://www.w3.org/2000/svg';

// ---------------------------------------------------------------------------
// DOM helpers

/**
 * An element with attributes and children (strings become text nodes).
 * @param {string} tag
 * @param {Record<string, string | number | boolean | null | undefined>} [attrs]
 * @param {...(Node | string | number | null | undefined)} children
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** @param {string} tag @param {Record<string, string | number>} [attrs] */
export function s(tag, attrs = {}) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  return node;
}

/** @param {Element} node @param {Record<string, string | number | boolean | null | undefined>} attrs */
function setAttrs(node, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) node.removeAttribute(name);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
}

/** Sets text only when it changed (keeps selections and avoids layout work). */
export function setText(node, text) {
  const value = String(text);
  if (node.textContent !== value) node.textContent = value;
}

// ---------------------------------------------------------------------------
// Formatting

export const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function fmtMs(ms) {
  const v = num(ms);
  if (v === null) return '—';
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(v < 10_000 ? 2 : 1)} s`;
  return fmtDuration(v / 1000);
}

/** "3 s", "2 min 5 s", "4 h 12 min", "3 d 2 h". */
export function fmtDuration(seconds) {
  const sec = Math.max(0, Math.round(seconds));
  if (sec < 60) return `${sec} s`;
  if (sec < 3600) return `${Math.floor(sec / 60)} min ${sec % 60} s`;
  if (sec < 86_400) return `${Math.floor(sec / 3600)} h ${Math.floor((sec % 3600) / 60)} min`;
  return `${Math.floor(sec / 86_400)} d ${Math.floor((sec % 86_400) / 3600)} h`;
}

/** The runtime's trigger description, with intervals in readable units ("every 90000 ms" -> "every 1 min 30 s"). */
export function fmtSchedule(schedule) {
  if (typeof schedule !== 'string' || schedule === '') return '—';
  const every = /^every (\d+) ms$/.exec(schedule);
  if (!every) return schedule;
  const ms = Number(every[1]);
  return ms % 1000 === 0 ? `every ${fmtDuration(ms / 1000).replace(/ 0 (s|min|h)$/, '')}` : `every ${fmtMs(ms)}`;
}

export function fmtTime(ms) {
  const v = num(ms);
  if (v === null) return '—';
  return new Date(v).toLocaleTimeString([], { hour12: false });
}

export function fmtDateTime(ms) {
  const v = num(ms);
  if (v === null) return '—';
  return new Date(v).toLocaleString([], { hour12: false });
}

export function errorText(error) {
  return error instanceof Error ? error.message : String(error);
}

/** Pretty JSON for a <pre>, or "—" for nothing. */
export function fmtJson(value) {
  return value === undefined ? '—' : JSON.stringify(value, null, 2);
}

/** The fragment of a cycle's page, optionally with one item selected. */
export function cycleHref(id, item) {
  return `#/cycles/${encodeURIComponent(id)}${item ? `?item=${encodeURIComponent(item)}` : ''}`;
}
