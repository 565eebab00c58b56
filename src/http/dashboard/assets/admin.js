// Admin actions from the page: run now, pause, resume, retry. The token is
// asked once in a dialog and kept for this tab (api.js: sessionStorage),
// sent only as an Authorization header; a token the server refuses is
// forgotten and asked again.

import { adminToken, postAdmin, setAdminToken } from './api.js';
import { errorText, setText } from './dom.js';

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** @type {((token: string) => void) | null} */
let answer = null;
/** @type {HTMLElement | null} */
let opener = null;

/** Wires the token dialog and the header's token button. */
export function initAdmin() {
  const dialog = /** @type {HTMLDialogElement} */ ($('token-dialog'));
  const input = /** @type {HTMLInputElement} */ ($('token-input'));
  $('token-button').addEventListener('click', () => void askToken(''));
  $('token-form').addEventListener('submit', (event) => {
    // The form never submits anywhere (the CSP forbids it): the token stays in this tab.
    event.preventDefault();
    const token = input.value.trim();
    if (token === '') {
      showTokenError('Enter the admin token (http.token), or cancel.');
      return;
    }
    setAdminToken(token);
    close(token);
  });
  $('token-cancel').addEventListener('click', () => close(''));
  $('token-forget').addEventListener('click', () => {
    setAdminToken('');
    close('');
  });
  dialog.addEventListener('cancel', (event) => {
    event.preventDefault();
    close('');
  });
  renderTokenState();
}

function close(token) {
  const dialog = /** @type {HTMLDialogElement} */ ($('token-dialog'));
  /** @type {HTMLInputElement} */ ($('token-input')).value = '';
  if (dialog.open) dialog.close();
  renderTokenState();
  const done = answer;
  answer = null;
  done?.(token);
  opener?.focus();
  opener = null;
}

function showTokenError(message) {
  const box = $('token-error');
  setText(box, message);
  box.hidden = message === '';
}

function renderTokenState() {
  const set = adminToken() !== '';
  setText($('token-button'), set ? 'Admin token: set for this tab' : 'Admin token: not set');
  $('token-button').dataset.state = set ? 'set' : 'unset';
  $('token-forget').hidden = !set;
}

/**
 * Opens the dialog; resolves with the token entered, or '' when cancelled.
 * @param {string} problem shown above the field (e.g. the server refused the last one)
 */
export function askToken(problem) {
  const dialog = /** @type {HTMLDialogElement} */ ($('token-dialog'));
  if (answer) return Promise.resolve('');
  opener = /** @type {HTMLElement | null} */ (document.activeElement);
  showTokenError(problem);
  return new Promise((resolve) => {
    answer = resolve;
    dialog.showModal();
    $('token-input').focus();
  });
}

/**
 * Sends an admin action, asking for the token first when this tab has none
 * and again once when the server refuses it. Resolves with `{ ok, status,
 * body, message }`; `message` is what to tell the operator.
 * @param {string} path @param {unknown} [body]
 */
export async function adminAction(path, body) {
  let token = adminToken() || (await askToken(''));
  if (!token) return { ok: false, status: 0, body: {}, message: 'Not sent: no admin token entered.' };
  try {
    let res = await postAdmin(path, body, token);
    if (res.status === 401) {
      setAdminToken('');
      renderTokenState();
      token = await askToken('The server did not accept that token. Enter the admin token (http.token).');
      if (!token) return { ok: false, status: 401, body: res.body, message: 'Not sent: the token was refused.' };
      res = await postAdmin(path, body, token);
    }
    const ok = res.status >= 200 && res.status < 300;
    const error = typeof res.body?.error === 'string' ? res.body.error : `HTTP ${res.status}`;
    return { ok, status: res.status, body: res.body, message: ok ? '' : error };
  } catch (error) {
    return { ok: false, status: 0, body: {}, message: `Could not reach the server: ${errorText(error)}` };
  }
}

/** Announces the result of an action in the page's status line (polite live region). */
export function announce(message, tone = 'info') {
  const node = $('action-status');
  node.dataset.tone = tone;
  setText(node, message);
}
