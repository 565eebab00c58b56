import type { MiddlewareHandler } from 'hono';
import { AutoloopError } from '../core/errors.ts';
import { skipsHostCheck } from './bind-policy.ts';
import type { Responder } from './respond.ts';

/**
 * Middleware against DNS rebinding: a page on evil.example whose name the
 * attacker re-points to 127.0.0.1 can make the victim's browser call this
 * server, but the browser still sends `Host: evil.example`. Only names this
 * server is known by pass: `localhost`, `127.0.0.1`, `[::1]`, the bind host
 * and `http.allowedHosts`, on any port.
 *
 * What it protects: the admin routes, the dashboard, the event stream and
 * every other read of the runtime's state. What it lets through on a
 * non-loopback bind: GETs of the probe routes (`/health`, `/health/live`,
 * `/health/ready`, `/health/<component>`, `/metrics`), which kubelet probes
 * and Prometheus scrapes send with the pod IP as Host, and which anyone who
 * can reach the port reads anyway. The reasoning is in bind-policy.ts.
 *
 * A request without a Host header (HTTP/1.0, or an in-process
 * `app.request`) is judged by its URL's host instead.
 *
 * Throws an AutoloopError naming the entry when the bind host or an
 * `allowedHosts` entry is not a host name (wildcards are not supported).
 */
export function hostAllowlist(
  options: { bindHost: string; allowedHosts: readonly string[] },
  out: Responder,
): MiddlewareHandler {
  const passes = hostCheck(options);
  return async (c, next) => {
    if (!passes(c.req.method, c.req.path, c.req.header('host') ?? new URL(c.req.url).host)) {
      // The Host value is not echoed: no request header is ever written back.
      return out.json(c, 403, {
        error:
          'forbidden: the Host header is not a name of this server (localhost, 127.0.0.1, [::1], the bind host); ' +
          'to reach it under another name, add that name to http.allowedHosts',
      });
    }
    await next();
  };
}

/**
 * The check {@link hostAllowlist} makes, as a function of a request's
 * method, path and Host value: whether the request may pass. Throws as
 * `hostAllowlist` does for a bad bind host or `allowedHosts` entry.
 */
export function hostCheck(options: {
  bindHost: string;
  allowedHosts: readonly string[];
}): (method: string, path: string, host: string) => boolean {
  const allowed = new Set(['localhost', '127.0.0.1', '[::1]']);
  const entries = [
    ['http.host', options.bindHost],
    ...options.allowedHosts.map((h, i) => [`http.allowedHosts[${i}]`, h]),
  ];
  for (const [where, host = ''] of entries) {
    const name = hostName(host.includes(':') && !host.startsWith('[') && !isHostPort(host) ? `[${host}]` : host);
    if (!name) {
      throw new AutoloopError(
        `${where}: expected a host name or address like "autoloop.internal" or "10.0.0.5" (a port is ignored), got ${JSON.stringify(host)}`,
      );
    }
    allowed.add(name);
  }
  // Worked out once, not per request: whether probes skip the check at all
  // (only on a non-loopback bind), and the answer for the Host value seen
  // last (a client, or a probe, sends the same one request after request).
  const probesSkip = skipsHostCheck(options.bindHost, 'GET', '/health');
  let lastHost: string | undefined;
  let lastPasses = false;
  return (method, path, host) => {
    if (probesSkip && skipsHostCheck(options.bindHost, method, path)) return true;
    if (host !== lastHost) {
      const name = hostName(host);
      lastPasses = name !== undefined && allowed.has(name);
      lastHost = host;
    }
    return lastPasses;
  };
}

/**
 * The host part of a Host header, lowercased, without port or trailing dot:
 * `LocalHost:8080` -> `localhost`, `[::1]:80` -> `[::1]`. Undefined when malformed.
 */
export function hostName(header: string): string | undefined {
  const value = header.trim().toLowerCase();
  let name: string;
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    if (end === -1) return undefined;
    const rest = value.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
    name = value.slice(0, end + 1);
  } else {
    const colon = value.indexOf(':');
    if (colon !== -1 && !/^:\d{1,5}$/.test(value.slice(colon))) return undefined;
    name = colon === -1 ? value : value.slice(0, colon);
  }
  if (name.endsWith('.')) name = name.slice(0, -1);
  return /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)$/.test(name) ? name : undefined;
}

/** `host:port` rather than a bare IPv6 address (which has two or more colons). */
function isHostPort(value: string): boolean {
  return value.indexOf(':') === value.lastIndexOf(':');
}
