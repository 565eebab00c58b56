/**
 * The signals recipe's HTTP surface: `GET /signals` (the latest signal per
 * symbol, read from the store) and `GET /signals/stream` (every signal
 * stored afterwards, as Server-Sent Events), over the small
 * {@link SignalsSource} port.
 *
 * The stream is the event log polled like `/events` (same start rules,
 * same ids: the log's `seq`, so `Last-Event-ID` resumes without a gap): a
 * `result.published` event of a signals loop (the recipe publishes every
 * stored signal) becomes one `signal` frame. A client reads `/signals` first and opens
 * `/signals/stream?after=<lastEventId>` with the position `/signals`
 * returned, so nothing stored in between is missed.
 *
 * Guards: registered on the app `createHttpApp` builds, the routes pass its
 * Host allowlist and body limit like every other route; bad query values
 * are a JSON 400 in the one template; an unreadable store is a 503.
 */

import { type Context, Hono } from 'hono';
import { type LogStreamTiming, SSE_HEADERS, streamEventLog, type Wakeups } from '../../http/log-stream.ts';
import { createRedactor } from '../../http/redact.ts';
import { createResponder, errorMessage, quote, type Responder } from '../../http/respond.ts';
import { startAfter } from '../../http/sse-start.ts';
import type { CycleStore, EventLog, StoredEvent } from '../../storage/store.ts';
import type { Clock } from '../../time/clock.ts';
import { systemClock } from '../../time/system-clock.ts';
import { readSignal, type Signal } from './signal.ts';
import { RESULT_PUBLISHED, type ResultPublished } from './signals-metrics.ts';
import { latestSignals } from './signals-view.ts';

/** What the signals routes read. Every request asks afresh; the routes hold no state. */
export interface SignalsSource {
  /** The signals loops, in config order; the first is `/signals`' default. Empty: no signals loop (empty `/signals`, 404 stream). */
  loops(): readonly string[];
  /** The latest signal per symbol of `loop`, sorted by symbol. Rejects when the store cannot be read. */
  latest(loop: string): Promise<readonly Signal[]>;
  /** The event log, as `/events` reads it: `after(seq)` oldest first, `latest(n)` the newest n, oldest first. */
  events: {
    after(seq: number, limit: number): Promise<StoredEvent[]>;
    latest(limit: number): Promise<StoredEvent[]>;
  };
}

export interface SignalsRoutesOptions {
  /** Timers of the stream's polling. Default the system clock. */
  clock?: Clock;
  /** How often the event log is polled for new signals. Default 500 ms. */
  pollMs?: number;
  /** A comment line after this long without a write, so proxies keep the stream open. Default 15 s. */
  heartbeatMs?: number;
  /** Most events read per poll; a full batch is followed by another read at once. Default 500. */
  batchLimit?: number;
  /** Body and frame redaction and JSON errors; pass the app's, so the admin token is scrubbed here too. Default: URL passwords only. */
  responder?: Responder;
  /** The server's stream wake-ups (as `/events` gets them): a stream reads the log at once when events are appended. */
  wakeups?: Wakeups;
}

/** The routes this file registers (GET and HEAD; other methods get a JSON 405). */
export const SIGNALS_ROUTES = ['/signals', '/signals/stream'] as const;

/** Cycle ids and sent signals remembered per stream, so a long stream's memory stays bounded. */
const REMEMBERED = 2_000;

/**
 * Registers the signals routes on `app`, an app mounted at `/signals` (as
 * the runtime mounts a recipe's routes): `GET /` is `/signals`, `GET /stream`
 * is `/signals/stream`. {@link mountSignalsRoutes} mounts them on a root app.
 *
 * - `GET /signals[?loop=name]`: `{ loop, loops, signals, simulated, lastEventId }`: the latest
 *   signal per symbol of `loop` (default the first signals loop), whether any of them is simulated,
 *   and the event-log position read just before them. With no signals loop: 200 with `loop: null`
 *   and empty lists. 404 for an unknown loop (naming the known ones); 503 when the store cannot
 *   be read.
 * - `GET /signals/stream[?loop=name][&after=seq]`: `signal` frames `{ seq, at, loop, signal }`
 *   with `id: <seq>`; starts after `Last-Event-ID`, else `?after=`, else now. Without `loop`, every
 *   signals loop's signals. A `stream-error` frame says once per outage that the store cannot be
 *   read; polling goes on. 404 when no signals loop runs or for an unknown loop; 400 for a bad
 *   `Last-Event-ID` or `after`.
 *
 * @example
 * const app = createHttpApp(httpSource);
 * mountSignalsRoutes(app, storeSignalsSource({ store: () => runtime.store, loops: ['signals'], clock }));
 */
export function mountSignalsRoutes(app: Hono, source: SignalsSource, options: SignalsRoutesOptions = {}): void {
  const mounted = new Hono({ strict: false });
  registerSignalsRoutes(mounted, source, options);
  app.route('/signals', mounted);
}

/** See {@link mountSignalsRoutes}: the same routes on an app already mounted at `/signals`. */
export function registerSignalsRoutes(app: Hono, source: SignalsSource, options: SignalsRoutesOptions = {}): void {
  const out = options.responder ?? createResponder(createRedactor([]));
  const clock = options.clock ?? systemClock;
  const timing: LogStreamTiming = {
    pollMs: options.pollMs ?? 500,
    heartbeatMs: options.heartbeatMs ?? 15_000,
    batchLimit: options.batchLimit ?? 500,
  };
  const wakeups = options.wakeups;

  app.get('/', async (c) => {
    if (source.loops().length === 0) {
      // Answered, not a 404: a dashboard can ask every runtime and hide its panel on `loops: []`.
      return out.json(c, 200, { loop: null, loops: [], signals: [], simulated: false, lastEventId: 0 });
    }
    const loop = chooseLoop(c, out, source, false);
    if (loop instanceof Response) return loop;
    try {
      // The position first: a signal stored between the two reads then comes again on the stream, never not at all.
      const lastEventId = (await source.events.latest(1)).at(-1)?.seq ?? 0;
      const signals = await source.latest(loop as string);
      const simulated = signals.some((s) => s.source?.simulated === true);
      return out.json(c, 200, { loop, loops: source.loops(), signals, simulated, lastEventId });
    } catch (error) {
      return out.json(c, 503, {
        error: `signals: cannot read the signals of ${quote(String(loop))}: ${errorMessage(error)}`,
      });
    }
  });

  app.get('/stream', async (c) => {
    const loop = chooseLoop(c, out, source, true);
    if (loop instanceof Response) return loop;
    const start = startAfter(c, out, { without: 'from now', afterExample: ', e.g. the lastEventId of GET /signals' });
    if (start instanceof Response) return start;
    let after: number;
    try {
      after = start ?? (await source.events.latest(1)).at(-1)?.seq ?? 0;
    } catch (error) {
      return out.json(c, 503, { error: `signals: cannot read the event log: ${errorMessage(error)}` });
    }
    if (c.req.method === 'HEAD') return c.body(null, 200, SSE_HEADERS);
    const loops = new Set(loop === undefined ? source.loops() : [loop]);
    /** `loop|symbol|tick` already sent: a signal is sent once per stream. */
    const sent = new RecentSet(REMEMBERED);
    return streamEventLog(c, {
      read: (seq, limit) => source.events.after(seq, limit),
      // Only result.published: the recipe publishes every stored signal, and reading a finished
      // cycle's results as well would send a resumed stream the signals it already had again.
      frames: (event) => {
        if (event.loop === null || !loops.has(event.loop) || event.type !== RESULT_PUBLISHED) return [];
        const read = readSignal((event.data as Partial<ResultPublished> | null)?.output);
        if (!read.ok) return [];
        const key = `${event.loop}|${read.signal.symbol}|${read.signal.tick}`;
        if (sent.has(key)) return [];
        sent.add(key);
        const data = JSON.stringify({ seq: event.seq, at: event.at, loop: event.loop, signal: read.signal });
        return [{ id: String(event.seq), event: 'signal', data }];
      },
      out,
      clock,
      timing,
      ...(wakeups && { wakeups }),
      after,
    });
  });

  // After the GET handlers, so these only see the other methods (HEAD is answered from GET).
  // Paths relative to the mount (`/` is `/signals`), like the GET handlers'.
  for (const path of ['/', '/stream']) {
    app.all(path, (c) =>
      out.json(
        c,
        405,
        { error: 'method not allowed', method: c.req.method, path: c.req.path, allow: ['GET', 'HEAD'] },
        { allow: 'GET, HEAD' },
      ),
    );
  }
}

export interface StoreSignalsSourceOptions {
  /** The store, read at each request (a runtime's store exists only once it started). */
  store: () => { readonly cycles: CycleStore; readonly events: EventLog };
  /** The signals loops' names (or a function read at each request). */
  loops: readonly string[] | (() => readonly string[]);
  clock: Clock;
  /** Leave out signals older than this. Default: none left out. */
  maxAgeMs?: number;
  /** Cycle records read at most per `/signals` (see latestSignals). */
  cycles?: number;
}

/**
 * A {@link SignalsSource} over a store: `latestSignals` from the signals
 * view, and the store's event log.
 *
 * @example
 * storeSignalsSource({ store: () => runtime.store, loops: ['signals'], clock: runtime.clock, maxAgeMs: 3_600_000 });
 */
export function storeSignalsSource(options: StoreSignalsSourceOptions): SignalsSource {
  const loops = typeof options.loops === 'function' ? options.loops : () => options.loops as readonly string[];
  return {
    loops,
    latest: (loop) =>
      latestSignals(options.store(), loop, {
        now: options.clock.now(),
        ...(options.maxAgeMs === undefined ? {} : { maxAgeMs: options.maxAgeMs }),
        ...(options.cycles === undefined ? {} : { cycles: options.cycles }),
      }),
    events: {
      after: (seq, limit) => options.store().events.after(seq, { limit }),
      latest: (limit) => options.store().events.latest({ limit }),
    },
  };
}

/**
 * The loop a request names: `?loop=` checked against the signals loops,
 * else the first (`/signals`) or every one (`undefined`, the stream). A
 * 404 when there is no signals loop or the name is not one.
 */
function chooseLoop(c: Context, out: Responder, source: SignalsSource, all: boolean): string | undefined | Response {
  const known = source.loops();
  if (known.length === 0) {
    return out.json(c, 404, {
      error: 'no signals loop runs here: the signals routes need a loop made with the signals recipe',
      loops: [],
    });
  }
  const asked = c.req.query('loop');
  if (asked === undefined) return all ? undefined : known[0];
  if (!/^[\w.:-]{1,100}$/.test(asked)) {
    return out.badInput(c, {
      field: 'loop',
      where: 'query loop',
      expected: `the name of a signals loop (${known.join(', ')})`,
      got: asked === '' ? 'an empty value' : quote(asked),
      fix: 'omit it for the first signals loop',
    });
  }
  if (!known.includes(asked)) {
    return out.json(c, 404, {
      error: `unknown signals loop ${quote(asked)}; signals loops: ${known.join(', ')}`,
      loops: known,
    });
  }
  return asked;
}

/** A set that forgets its oldest entries past `limit`. */
class RecentSet {
  readonly #items = new Set<string>();
  constructor(readonly limit: number) {}

  has(key: string): boolean {
    return this.#items.has(key);
  }

  add(key: string): void {
    this.#items.add(key);
    if (this.#items.size > this.limit) this.#items.delete(this.#items.values().next().value as string);
  }
}
