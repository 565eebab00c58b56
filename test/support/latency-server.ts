/**
 * A real local HTTP server (node:http on 127.0.0.1, port 0) whose latency
 * grows with its own load, with injectable faults. For end-to-end tests and
 * benchmarks of the policies over real HTTP; it uses real timers.
 *
 * Latency model: a request that arrives while `inflight` requests are being
 * served (itself included) waits `base * max(1, inflight / knee)` ms, then is
 * answered 200 (or 500 with probability `errorRate`). The delay is FIXED WHEN
 * THE REQUEST ARRIVES: later arrivals or departures, and later `set({ base })`
 * calls, do not change the delay of a request already waiting. This is the
 * model of src/policies/adaptive-concurrency.test.ts's simulation: past the
 * knee every extra request is pure queueing.
 *
 * Faults, checked in this order when a request arrives (none of them counts
 * as inflight, since none is served):
 * - `outage: '503'` answers 503 at once; `outage: 'reset'` destroys the
 *   connection (the client sees a socket error);
 * - `status429` answers 429 at once with `Retry-After: <retryAfter>`, for
 *   the next `count` requests (then it clears itself), or for every request
 *   while set when `count` is omitted.
 *
 * @example
 * const server = await startLatencyServer({ base: 100, knee: 8 });
 * await fetch(server.url);
 * server.set({ outage: '503' });
 * server.stats(); // { requests, ok, errors, unavailable, resets, rateLimited, aborted, inflight, maxInflight }
 * await server.close();
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface LatencyServerOptions {
  /** No-load latency in ms. Default 100. */
  base: number;
  /** Requests served at once before latency grows. Default 8. */
  knee: number;
  /** Probability (0..1) that a served request answers 500 (after its latency). Default 0. */
  errorRate: number;
  /** `'503'`: answer 503 at once; `'reset'`: destroy the connection; `false`: healthy. Default false. */
  outage: false | '503' | 'reset';
  /** Answer 429 with this Retry-After header (seconds or an HTTP-date), `count` times or until cleared. Default false. */
  status429: false | { retryAfter: string; count?: number };
  /** Randomness in [0, 1) for `errorRate`. Default Math.random. */
  random: () => number;
}

/** One request the server answered (or whose client went away), in arrival order of completion. */
export interface ServedRequest {
  /** performance.now() when the request arrived (same timeline as the test's performance.now()). */
  readonly arrivedAt: number;
  /** Measured from arrival to the response being written (or the connection ending). */
  readonly latencyMs: number;
  /** The delay the latency model assigned at arrival (0 for faults answered at once). */
  readonly plannedMs: number;
  /** Requests being served when it arrived, itself included (0 for faults answered at once). */
  readonly inflight: number;
  /** The status sent; 0 for a reset connection, -1 when the client went away first. */
  readonly status: number;
}

export interface LatencyServerStats {
  /** Every request that arrived. */
  readonly requests: number;
  /** Answered 200. */
  readonly ok: number;
  /** Answered 500 (errorRate). */
  readonly errors: number;
  /** Answered 503 (outage). */
  readonly unavailable: number;
  /** Connections destroyed (outage 'reset'). */
  readonly resets: number;
  /** Answered 429. */
  readonly rateLimited: number;
  /** Clients that went away before their answer. */
  readonly aborted: number;
  /** Being served now. */
  readonly inflight: number;
  /** The most served at once since start. */
  readonly maxInflight: number;
}

export interface LatencyServer {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  /** Changes options for requests that arrive from now on. */
  set(options: Partial<LatencyServerOptions>): void;
  stats(): LatencyServerStats;
  /** Every finished request so far (a copy), in order of completion. */
  log(): ServedRequest[];
  /** Stops listening, drops every connection and pending timer. */
  close(): Promise<void>;
}

const DEFAULTS: LatencyServerOptions = {
  base: 100,
  knee: 8,
  errorRate: 0,
  outage: false,
  status429: false,
  random: Math.random,
};

export async function startLatencyServer(options: Partial<LatencyServerOptions> = {}): Promise<LatencyServer> {
  let current: LatencyServerOptions = { ...DEFAULTS, ...options };
  const counts = { requests: 0, ok: 0, errors: 0, unavailable: 0, resets: 0, rateLimited: 0, aborted: 0 };
  let inflight = 0;
  let maxInflight = 0;
  const served: ServedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const answerAtOnce = (res: ServerResponse, arrivedAt: number, status: number, headers: Record<string, string>) => {
    res.writeHead(status, { 'content-type': 'text/plain', ...headers });
    res.end(String(status));
    served.push({ arrivedAt, latencyMs: performance.now() - arrivedAt, plannedMs: 0, inflight: 0, status });
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const arrivedAt = performance.now();
    counts.requests++;
    req.resume(); // bodies are ignored
    const o = current;
    if (o.outage === 'reset') {
      counts.resets++;
      served.push({ arrivedAt, latencyMs: 0, plannedMs: 0, inflight: 0, status: 0 });
      req.socket.destroy();
      return;
    }
    if (o.outage === '503') {
      counts.unavailable++;
      answerAtOnce(res, arrivedAt, 503, {});
      return;
    }
    if (o.status429) {
      const { retryAfter, count } = o.status429;
      if (count !== undefined)
        current = { ...current, status429: count > 1 ? { retryAfter, count: count - 1 } : false };
      counts.rateLimited++;
      answerAtOnce(res, arrivedAt, 429, { 'retry-after': retryAfter });
      return;
    }
    inflight++;
    maxInflight = Math.max(maxInflight, inflight);
    const atArrival = inflight;
    const plannedMs = o.base * Math.max(1, atArrival / o.knee);
    const status = o.random() < o.errorRate ? 500 : 200;
    let done = false;
    const finish = (sent: number) => {
      if (done) return;
      done = true;
      inflight--;
      served.push({
        arrivedAt,
        latencyMs: performance.now() - arrivedAt,
        plannedMs,
        inflight: atArrival,
        status: sent,
      });
    };
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (done) return;
      if (status === 200) counts.ok++;
      else counts.errors++;
      finish(status);
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status === 200 ? 'ok' : 'injected error');
    }, plannedMs);
    timers.add(timer);
    res.once('close', () => {
      if (done) return;
      clearTimeout(timer);
      timers.delete(timer);
      counts.aborted++;
      finish(-1);
    });
  };

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/`,
    set(next) {
      current = { ...current, ...next };
    },
    stats: () => ({ ...counts, inflight, maxInflight }),
    log: () => [...served],
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
