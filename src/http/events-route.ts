import type { Hono } from 'hono';
import type { StoredEvent } from '../storage/store.ts';
import type { Clock } from '../time/clock.ts';
import { SSE_HEADERS, streamEventLog, Wakeups } from './log-stream.ts';
import { errorMessage, type Responder } from './respond.ts';
import type { HttpSource } from './routes.ts';
import { startAfter } from './sse-start.ts';

/** Timing of `/events`; the defaults suit browsers and proxies, tests shorten them. */
export interface EventStreamOptions {
  /** How often the event log is polled for new events. Default 250 ms. */
  pollMs?: number;
  /** A comment line is sent after this long without a write, so proxies keep the stream open. Default 15 s. */
  heartbeatMs?: number;
  /** Events sent on connect when the client names no position. Default 100. */
  historyLimit?: number;
  /** Most events read per poll; a full batch is followed by another read at once. Default 500. */
  batchLimit?: number;
  /**
   * Wake-ups: called once, when the route is registered, with a function to
   * call whenever new events may be in the log (e.g. another instance
   * appended some and said so over pub/sub). Every open stream then reads the
   * log at once instead of at its next poll; polling stays as the fallback.
   * Absent: streams only poll.
   */
  subscribe?: (onAppended: () => void) => void;
}

/**
 * `GET /events`: the event log as Server-Sent Events. Each stored event is a
 * frame with `id: <seq>`, `event: <type>` and `data: {seq, at, type, loop, data}`.
 *
 * Start position: after the `Last-Event-ID` header (what a reconnecting
 * EventSource sends), else after `?after=<seq>`, else the newest
 * `historyLimit` events. Because ids are the log's own sequence, a resumed
 * stream has no gap and no duplicate. The log is then polled every `pollMs`,
 * and at once on a wake-up (`options.subscribe`: events appended by any
 * instance sharing the store), until the client disconnects, which ends the
 * loop and its timer.
 */
export function registerEventsRoute(
  app: Hono,
  source: HttpSource,
  out: Responder,
  clock: Clock,
  options: EventStreamOptions = {},
  wakeups: Wakeups = subscribedWakeups(options.subscribe),
): void {
  const timing = {
    pollMs: options.pollMs ?? 250,
    heartbeatMs: options.heartbeatMs ?? 15_000,
    historyLimit: options.historyLimit ?? 100,
    batchLimit: options.batchLimit ?? 500,
  };
  app.get('/events', async (c) => {
    const after = startAfter(c, out, { without: 'from recent history' });
    if (after instanceof Response) return after;
    let first: StoredEvent[];
    try {
      first =
        after === undefined
          ? await source.events.latest(timing.historyLimit)
          : await source.events.after(after, timing.batchLimit);
    } catch (error) {
      return out.json(c, 503, { error: `events: cannot read the event log: ${errorMessage(error)}` });
    }
    if (c.req.method === 'HEAD') return c.body(null, 200, SSE_HEADERS);
    return streamEventLog(c, {
      read: (seq, limit) => source.events.after(seq, limit),
      frames: (e) => [{ id: String(e.seq), event: sseToken(e.type), data: frameData(e) }],
      out,
      clock,
      timing,
      wakeups,
      after: after ?? 0,
      first,
    });
  });
}

/** Wake-ups fed by `subscribe` (none fire without it): share one between the streams of a server. */
export function subscribedWakeups(subscribe: EventStreamOptions['subscribe']): Wakeups {
  const wakeups = new Wakeups();
  subscribe?.(() => wakeups.fire());
  return wakeups;
}

function frameData(e: StoredEvent): string {
  const frame = { seq: e.seq, at: e.at, type: e.type, loop: e.loop };
  try {
    return JSON.stringify({ ...frame, data: e.data });
  } catch (error) {
    // One event the log holds but JSON cannot express (a bigint) must not end the stream.
    return JSON.stringify({ ...frame, data: null, error: `data not serialisable: ${errorMessage(error)}` });
  }
}

/** An event name cannot hold a line break (it would end the field). */
function sseToken(type: string): string {
  return type.replace(/[\r\n]/g, ' ');
}
