import type { Hono } from 'hono';
import { type SSEStreamingApi, streamSSE } from 'hono/streaming';
import type { StoredEvent } from '../storage/store.ts';
import type { Clock } from '../time/clock.ts';
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
 * The wake-ups of one server's streams: one subscription, many waiting
 * pumps. `generation` counts wake-ups, so a pump that was busy reading when
 * one came does not then sleep through it.
 */
class Wakeups {
  generation = 0;
  readonly #waiting = new Set<() => void>();

  fire(): void {
    this.generation++;
    for (const wake of [...this.#waiting]) wake();
  }

  /**
   * Resolves after `ms`, or at once on a wake-up after `seen` (the generation
   * the caller last read at); rejects when `signal` aborts.
   */
  async wait(clock: Clock, ms: number, signal: AbortSignal, seen: number): Promise<void> {
    if (this.generation !== seen) return;
    if (signal.aborted) throw signal.reason;
    const woken = new AbortController();
    const wake = () => woken.abort();
    const onAbort = () => woken.abort();
    this.#waiting.add(wake);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await clock.sleep(ms, woken.signal);
    } catch (error) {
      if (signal.aborted) throw error;
    } finally {
      this.#waiting.delete(wake);
      signal.removeEventListener('abort', onAbort);
    }
  }
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
): void {
  const timing = {
    pollMs: options.pollMs ?? 250,
    heartbeatMs: options.heartbeatMs ?? 15_000,
    historyLimit: options.historyLimit ?? 100,
    batchLimit: options.batchLimit ?? 500,
  };
  const wakeups = new Wakeups();
  options.subscribe?.(() => wakeups.fire());
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
    c.header('x-accel-buffering', 'no'); // nginx: do not buffer the stream
    return streamSSE(c, async (stream) => {
      const stop = new AbortController();
      const onAbort = () => stop.abort();
      stream.onAbort(onAbort);
      const request = c.req.raw.signal;
      if (request.aborted) stop.abort();
      else request.addEventListener('abort', onAbort, { once: true });
      try {
        const pump = new EventPump(stream, source, out, clock, timing, stop.signal, wakeups);
        await pump.run(first, after ?? 0);
      } finally {
        request.removeEventListener('abort', onAbort);
      }
    });
  });
}

const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } as const;

/** One connection's polling loop. Ends when `signal` aborts (client gone or server stopping). */
class EventPump {
  #last = 0;
  #lastWriteAt = 0;
  #failing = false;

  constructor(
    readonly stream: SSEStreamingApi,
    readonly source: HttpSource,
    readonly out: Responder,
    readonly clock: Clock,
    readonly timing: Required<Omit<EventStreamOptions, 'subscribe'>>,
    readonly signal: AbortSignal,
    readonly wakeups: Wakeups,
  ) {}

  async run(first: StoredEvent[], after: number): Promise<void> {
    this.#last = after;
    await this.#write(': connected\n\n');
    await this.#send(first);
    let more = first.length >= this.timing.batchLimit;
    let seen = this.wakeups.generation;
    while (!this.signal.aborted) {
      // A full batch that moved the position on means more are waiting: read again at once.
      if (!more) {
        try {
          await this.wakeups.wait(this.clock, this.timing.pollMs, this.signal, seen);
        } catch {
          return; // aborted
        }
      }
      seen = this.wakeups.generation;
      const before = this.#last;
      const batch = await this.#poll();
      await this.#send(batch);
      more = batch.length >= this.timing.batchLimit && this.#last > before;
      if (this.clock.monotonic() - this.#lastWriteAt >= this.timing.heartbeatMs) await this.#write(': heartbeat\n\n');
    }
  }

  async #poll(): Promise<StoredEvent[]> {
    try {
      const events = await this.source.events.after(this.#last, this.timing.batchLimit);
      this.#failing = false;
      return events;
    } catch (error) {
      // Said once per outage, not every poll; polling goes on, the store may come back.
      if (!this.#failing) {
        const data = JSON.stringify({ error: `cannot read the event log: ${errorMessage(error)}` });
        await this.#frame({ event: 'stream-error', data });
      }
      this.#failing = true;
      return [];
    }
  }

  async #send(events: StoredEvent[]): Promise<void> {
    for (const e of events) {
      if (this.signal.aborted) return;
      if (e.seq <= this.#last) continue; // never twice, whatever the source returns
      await this.#frame({ id: String(e.seq), event: sseToken(e.type), data: frameData(e) });
      this.#last = e.seq;
    }
  }

  async #frame(message: { id?: string; event: string; data: string }): Promise<void> {
    await this.stream.writeSSE({ ...message, data: this.out.redact(message.data) });
    this.#lastWriteAt = this.clock.monotonic();
  }

  async #write(text: string): Promise<void> {
    await this.stream.write(text);
    this.#lastWriteAt = this.clock.monotonic();
  }
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
