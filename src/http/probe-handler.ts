import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { HealthReport } from '../runtime/health.ts';
import { failedHealthAnswer, type HealthAnswer, healthAnswerOf } from './health-routes.ts';
import { hostCheck } from './host-allowlist.ts';
import { createRedactor, type Redact } from './redact.ts';
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
  // The last answer of each probe, by the report it was made of: a source that
  // serves the same report object again (the live report within one clock
  // millisecond, see http-part.ts) costs no serialising, redacting or header
  // object per request, which under a burst of probes is most of their cost.
  const last: Record<Probe, Written | undefined> = { health: undefined, live: undefined, ready: undefined };
  const written = (probe: Probe, report: HealthReport): Written => {
    const memo = last[probe];
    if (memo?.report === report) return memo;
    const fresh = { report, ...toWrite(healthAnswerOf(report), redact) };
    last[probe] = fresh;
    return fresh;
  };
  const reads = {
    health: () => source.health(),
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
    if (probe === 'live') {
      // Read in this call, with no promise: the liveness probe is the one sent most.
      let answer: Omit<Written, 'report'>;
      try {
        answer = written(probe, source.live());
      } catch (error) {
        answer = toWrite(failedHealthAnswer(error), redact);
      }
      response.writeHead(answer.status, answer.headers);
      response.end(answer.body);
      return true;
    }
    let pending: Promise<HealthReport>;
    try {
      pending = reads[probe]();
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending
      .then(
        (report) => written(probe, report),
        (error: unknown) => toWrite(failedHealthAnswer(error), redact),
      )
      .then(({ status, headers, body }) => {
        response.writeHead(status, headers);
        response.end(body);
      })
      .catch(() => response.destroy());
    return true;
  };
}

type Probe = (typeof PROBES)[keyof typeof PROBES];

/** An answer as written: status, redacted body, headers (read-only, shared by every response that sends it). */
interface Written {
  report: HealthReport;
  status: number;
  body: string;
  headers: OutgoingHttpHeaders;
}

function toWrite({ status, text }: HealthAnswer, redact: Redact): Omit<Written, 'report'> {
  const body = redact(text);
  return { status, body, headers: { ...JSON_HEADERS, 'content-length': Buffer.byteLength(body) } };
}

function hasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
}
