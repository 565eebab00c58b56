/**
 * Where the HTTP server may listen, and what each kind of route needs there.
 *
 * Routes fall in three kinds, and the policy follows from what each exposes:
 *
 * | kind | routes | on any bind |
 * | --- | --- | --- |
 * | probes | `GET /health`, `/health/live`, `/health/ready`, `/health/<component>`, `/metrics` | served; on a non-loopback bind without the Host check |
 * | reads | the dashboard, `/status`, `/health/detailed`, `/tasks`, `/loops/<name>/cycles`, `/events`, recipe routes | served behind the Host check |
 * | admin | `POST /loops/<name>/run\|pause\|resume`, `POST /shutdown` | the bearer token (refused, 403, when none is set) and the Host check |
 *
 * A non-loopback bind no longer needs a token: with none, the admin routes
 * are off (403), so nothing can be changed from the network, and probes and
 * scrapes work (Kubernetes, Prometheus). The token guards actions, not reads.
 *
 * Why the Host check (host-allowlist.ts) skips the probes on a non-loopback
 * bind, and only there. The check stops DNS rebinding: a web page on
 * evil.example re-points its name to this server's address and, being
 * same-origin with it, reads the answers in the visitor's browser; the
 * browser still sends `Host: evil.example`. What that would gain:
 * - admin routes: an action (the bearer token stops it too; the check is a
 *   second lock);
 * - reads (dashboard, status, events, cycles, tasks, `/health/detailed`):
 *   loop names, item keys, payloads, outputs and errors, which a browser on
 *   the operator's machine can reach when nothing else can (a loopback bind);
 * - probes: up/down and counters. On a non-loopback bind these are already
 *   open to anyone who can reach the port, by the operator's choice, so a
 *   rebinding page learns nothing it could not fetch itself; and the clients
 *   that must reach them there (kubelet probes, Prometheus scrapes) send the
 *   pod IP as Host, a name no config can list ahead of time. On a loopback
 *   bind nothing needs them under another name, so they keep the check.
 *
 * The Host check is not authentication: a client that reaches the port
 * directly sends any Host it likes. On a network bind the reads are as
 * readable as the probes; keep them off untrusted networks (a
 * NetworkPolicy, a loopback bind and `kubectl port-forward`).
 */

/**
 * True for names and addresses only this machine can reach: `localhost`,
 * 127.0.0.0/8 (also IPv4-mapped, `::ffff:127.0.0.1`) and `::1`, bracketed or not.
 *
 * @example
 * isLoopbackHost('127.0.0.2'); // true
 * isLoopbackHost('0.0.0.0');   // false: every interface
 */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === 'localhost.') return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v4);
  if (!m) return false;
  return m.slice(1).every((octet) => Number(octet) <= 255);
}

/**
 * The probe routes (see the table above): health checks and metrics, which
 * say up or down and count, but carry no payloads, outputs or the snapshot
 * (`/health/detailed` does, so it is not one). A trailing slash is allowed,
 * as the app routes `/health/` to `/health`.
 *
 * @example
 * isProbeRoute('/health/ready'); // true
 * isProbeRoute('/health/detailed'); // false
 */
export function isProbeRoute(path: string): boolean {
  const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  if (p === '/metrics' || p === '/health') return true;
  const component = /^\/health\/([^/]+)$/.exec(p)?.[1];
  return component !== undefined && component !== 'detailed';
}

/**
 * Whether a request skips the Host check: a GET or HEAD of a probe route on
 * a non-loopback bind (see the reasoning above).
 */
export function skipsHostCheck(bindHost: string, method: string, path: string): boolean {
  return (method === 'GET' || method === 'HEAD') && !isLoopbackHost(bindHost) && isProbeRoute(path);
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}
