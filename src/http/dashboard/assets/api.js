// The dashboard's HTTP: JSON reads, and admin actions with the token the
// operator typed once. The token lives in this tab's sessionStorage only:
// never in a URL, a cookie or localStorage, gone when the tab closes.

const TOKEN_KEY = 'autoloop.adminToken';

/** Server clock minus ours (ms), when they differ by more than 2 s. */
export const clock = { offset: 0 };

/** GET a JSON route; rejects with an Error whose `status` is the HTTP status on an error answer. */
export async function getJson(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store' });
  if (!res.ok) throw Object.assign(new Error(`${path}: HTTP ${res.status}`), { status: res.status });
  const date = Date.parse(res.headers.get('date') ?? '');
  if (Number.isFinite(date)) {
    // The Date header has a resolution of one second: only a clearly
    // different server clock is worth correcting for.
    const skew = date + 500 - Date.now();
    clock.offset = Math.abs(skew) > 2000 ? skew : 0;
  }
  return res.json();
}

/** The admin token of this tab, or '' when none was entered. */
export function adminToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

/** Keeps the token for this tab (or forgets it with ''). */
export function setAdminToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage refused (private mode): the token is then asked again each time.
  }
}

/**
 * POST an admin route with the token as a Bearer header; resolves with
 * `{ status, body }` whatever the status (the caller shows the error text the
 * server sent).
 */
export async function postAdmin(path, body, token = adminToken()) {
  const res = await fetch(path, {
    method: 'POST',
    headers: {
      accept: 'application/json',
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify(body ?? {}),
    cache: 'no-store',
  });
  let data = {};
  try {
    data = await res.json();
  } catch {
    // An empty or non-JSON body: the status says enough.
  }
  return { status: res.status, body: data };
}
