// Retrying a failed item from the page (POST /loops/:name/retry), and the
// retry's outcome as it arrives: each retry button has a status line beside
// it that says queued, then succeeded or failed again, from the item's live
// events (or, after a reload, from what GET /items/failed says of its latest
// retry).

import { adminAction, announce } from './admin.js';
import { cycleHref, h } from './dom.js';

/**
 * Retries sent from this tab, by loop and key: `queued` until the item's
 * next result arrives as an event, then `succeeded` or `failed`.
 * @type {Map<string, {state: string, text: string, cycleId?: string}>}
 */
const retries = new Map();
const retryId = (loop, key) => `${loop}\u0000${key}`;

/**
 * A live event: when it is the next result of an item retried from this
 * tab, its outcome.
 * @param {{type: string, loop: string | null, data: any}} event
 */
export function onRetryEvent(event) {
  const data = event.data ?? {};
  if ((event.type !== 'item.succeeded' && event.type !== 'item.failed') || !event.loop) return;
  const id = retryId(event.loop, String(data.key));
  if (retries.get(id)?.state !== 'queued') return;
  const ok = event.type === 'item.succeeded';
  retries.set(id, {
    state: ok ? 'succeeded' : 'failed',
    text: ok ? 'Retried: succeeded' : `Retried: failed again (${data.error?.message ?? 'error'})`,
    cycleId: typeof data.cycleId === 'string' ? data.cycleId : undefined,
  });
  renderRetryStates();
  announce(`${event.loop} ${data.key}: the retry ${ok ? 'succeeded' : 'failed again'}.`, ok ? 'ok' : 'failed');
}

/** What the store says of an item's latest retry (GET /items/failed), as a status line. */
export function storedRetry(retry) {
  if (!retry || typeof retry.status !== 'string') return null;
  const text = retry.status === 'succeeded' ? 'Retried: succeeded' : `Retried: ${retry.status}`;
  return { state: retry.status === 'succeeded' ? 'succeeded' : 'failed', text, cycleId: String(retry.cycleId) };
}

export function retryControls(loop, cycleId, key, stored = null) {
  const button = h('button', { type: 'button', class: 'action', 'aria-label': `Retry ${key} of ${loop}` }, 'Retry');
  const status = h('span', { class: 'retry-status', 'data-retry-loop': loop, 'data-retry-key': key, role: 'status' });
  // A retry this tab has not seen (another tab, before a reload): the store's word, with its cycle.
  if (stored && !retries.has(retryId(loop, key))) retries.set(retryId(loop, key), stored);
  button.addEventListener('click', async () => {
    button.setAttribute('disabled', '');
    const res = await adminAction(`/loops/${encodeURIComponent(loop)}/retry`, { cycleId, key });
    button.removeAttribute('disabled');
    if (res.ok) {
      retries.set(retryId(loop, key), { state: 'queued', text: 'Queued again, running…' });
      announce(`${loop} ${key}: queued again; a cycle is starting.`);
    } else {
      retries.set(retryId(loop, key), { state: 'refused', text: res.message });
      announce(`${loop} ${key}: ${res.message}`, 'failed');
    }
    renderRetryStates();
  });
  return h('span', { class: 'retry' }, button, ' ', status);
}

export function renderRetryStates() {
  for (const node of document.querySelectorAll('[data-retry-loop]')) {
    const el = /** @type {HTMLElement} */ (node);
    const retry = retries.get(retryId(el.dataset.retryLoop, el.dataset.retryKey));
    el.dataset.state = retry?.state ?? '';
    const link = retry?.cycleId
      ? h('a', { href: cycleHref(retry.cycleId, el.dataset.retryKey) }, 'in its cycle')
      : null;
    el.replaceChildren(retry?.text ?? '', ...(link ? [' (', link, ')'] : []));
  }
}
