import type { IncomingMessage, ServerResponse } from 'node:http';
import { healthAnswer } from './health-routes.ts';
import { hostCheck } from './host-allowlist.ts';
import { createRedactor } from './redact.ts';
import { JSON_HEADERS } from './respond.ts';
import type { HttpSource } from './routes.ts';

/**
 * Answers a request on the server's own socket and returns true, or returns
 * false and leaves it to the app, untouched.
 */
export type ProbeHandler = (request: IncomingMessage, response: ServerResponse) => boolean;

const PROBES = { '/health': 'health', '/health/live': 'live', '/health/ready': 'ready' } as const;

/**
 * The fast path of the three probe routes: a plain `GET /health`,
 * `/health/live` or `/health/ready` (a trailing slash and a query allowed,
 * as in the app) whose Host passes the app's check is answered straight
 * from node's request and response, with the body, status and headers the
 * app gives (same report, same redaction, `healthAnswer` shared with
 * health-routes.ts). Kubelet probes, load balancers and the CLI send these
 * often; answered here, they build no fetch `Request`/`Response`, and a
 * process that only ever sees them never loads the fetch classes (undici:
 * ~8 MiB) or the HTTP adapter at all.
 *
 * Anything else goes to the app, which answers it as it always did: other
 * routes and methods (HEAD, a 405), a request with a body (the app's 413
 * limit), no Host header, a Host the check refuses (the app's 403).
 */
export function createProbeHandler(source: Pick<HttpSource, 'health' | 'live' | 'ready' | 'security'>): ProbeHandler {
  const passes = hostCheck(source.security);
  const redact = createRedactor([source.security.token]);
  const reads = {
    health: () => source.health(),
    live: async () => source.live(),
    ready: () => source.ready(),
  };
  return (request, response) => {
    const { host } = request.headers;
    if (request.method !== 'GET' || host === undefined || hasBody(request)) return false;
    const url = request.url ?? '';
    const query = url.indexOf('?');
    let path = query === -1 ? url : url.slice(0, query);
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    const probe = Object.hasOwn(PROBES, path) ? PROBES[path as keyof typeof PROBES] : undefined;
    if (probe === undefined || !passes('GET', path, host)) return false;
    healthAnswer(reads[probe])
      .then(({ status, text }) => {
        const body = redact(text);
        response.writeHead(status, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(body) });
        response.end(body);
      })
      .catch(() => response.destroy());
    return true;
  };
}

function hasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
}
