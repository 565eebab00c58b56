/**
 * Removes secrets from text the HTTP surface is about to send: the admin
 * token (raw and as it appears inside a JSON string) and the password of any
 * URL (`redis://:pw@host` -> `redis://:***@host`, `?password=pw` -> `?password=***`).
 *
 * A last line of defence, applied to every response body and SSE frame: the
 * routes never put a secret in a response on purpose, but an error message
 * from a store driver or a user's health check might.
 */
export type Redact = (text: string) => string;

/**
 * Shorter tokens are not searched for: replacing every "abc" in a body would
 * corrupt it. The config should refuse such tokens anyway.
 */
const MIN_SECRET_LENGTH = 8;
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@:"'\\]*):[^\s/?#@"'\\]*@/gi;
const QUERY_SECRET = /([?&](?:password|pass|token)=)[^&#\s"'\\]*/gi;

/**
 * @example
 * const redact = createRedactor(['s3cr3t-admin-token']);
 * redact('auth failed for s3cr3t-admin-token'); // 'auth failed for ***'
 */
export function createRedactor(secrets: readonly string[]): Redact {
  const needles = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < MIN_SECRET_LENGTH) continue;
    needles.add(secret);
    needles.add(JSON.stringify(secret).slice(1, -1));
  }
  return (text) => {
    let out = text.replace(URL_PASSWORD, '$1$2:***@').replace(QUERY_SECRET, '$1***');
    for (const needle of needles) if (out.includes(needle)) out = out.split(needle).join('***');
    return out;
  };
}
