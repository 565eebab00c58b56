import type { Context } from 'hono';
import { type SSEStreamingApi, streamSSE } from 'hono/streaming';
import type { StoredEvent } from '../storage/store.ts';
import type { Clock } from '../time/clock.ts';
import { errorMessage, type Responder } from './respond.ts';

/** Headers of an SSE response (also the answer to HEAD). */
export const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } as const;

/** How a stream reads the event log. */
export interface LogStreamTiming {
  /** How often the log is polled when nothing wakes the stream. */
  readonly pollMs: number;
  /** A comment line after this long without a write, so proxies keep the stream open. */
  readonly heartbeatMs: number;
  /** Most events read per poll; a full batch is followed by another read at once. */
  readonly batchLimit: number;
}

/** One SSE frame; `data` is redacted before it is written. */
export interface SseFrame {
  readonly id?: string;
  readonly event: string;
  readonly data: string;
}

/**
 * The wake-ups of one server's streams: one subscription, many waiting
 * pumps. `generation` counts wake-ups, so a pump that was busy reading when
 * one came does not then sleep through it.
 */
export class Wakeups {
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

export interface LogStreamOptions {
  /** Events with seq > `afterSeq`, oldest first, at most `limit`. */
  readonly read: (afterSeq: number, limit: number) => Promise<StoredEvent[]>;
  /** The frames one event becomes (none to skip it). Called once per event, in log order. */
  readonly frames: (event: StoredEvent) => readonly SseFrame[] | Promise<readonly SseFrame[]>;
  readonly out: Responder;
  readonly clock: Clock;
  readonly timing: LogStreamTiming;
  /** Wake-ups that make every stream read the log at once; absent: poll only. */
  readonly wakeups?: Wakeups;
  /** The position the stream starts after. */
  readonly after: number;
  /** Events already read for the start (history), sent first. */
  readonly first?: readonly StoredEvent[];
}

/**
 * The event log as Server-Sent Events, for `/events` and recipes' streams:
 * frames for `first`, then for every event appended after the position,
 * each event once and in order (ids are the log's `seq`, so `Last-Event-ID`
 * resumes without a gap), until the client disconnects or the server stops.
 * A failing read is said once per outage as a `stream-error` frame, and
 * polling goes on.
 */
export function streamEventLog(c: Context, options: LogStreamOptions): Response {
  c.header('x-accel-buffering', 'no'); // nginx: do not buffer the stream
  return streamSSE(c, async (stream) => {
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    stream.onAbort(onAbort);
    const request = c.req.raw.signal;
    if (request.aborted) stop.abort();
    else request.addEventListener('abort', onAbort, { once: true });
    try {
      await new LogPump(stream, options, stop.signal).run();
    } finally {
      request.removeEventListener('abort', onAbort);
    }
  });
}

/** One connection's polling loop. Ends when `signal` aborts (client gone or server stopping). */
class LogPump {
  #last: number;
  #lastWriteAt = 0;
  #failing = false;

  constructor(
    readonly stream: SSEStreamingApi,
    readonly o: LogStreamOptions,
    readonly signal: AbortSignal,
  ) {
    this.#last = o.after;
  }

  async run(): Promise<void> {
    const { clock, timing, wakeups } = this.o;
    await this.#write(': connected\n\n');
    const first = this.o.first ?? [];
    await this.#send(first);
    let more = first.length >= timing.batchLimit;
    let seen = wakeups?.generation ?? 0;
    while (!this.signal.aborted) {
      if (!more) {
        try {
          if (wakeups) await wakeups.wait(clock, timing.pollMs, this.signal, seen);
          else await clock.sleep(timing.pollMs, this.signal);
        } catch {
          return; // aborted
        }
      }
      seen = wakeups?.generation ?? 0;
      const before = this.#last;
      const batch = await this.#poll();
      await this.#send(batch);
      more = batch.length >= timing.batchLimit && this.#last > before;
      if (clock.monotonic() - this.#lastWriteAt >= timing.heartbeatMs) await this.#write(': heartbeat\n\n');
    }
  }

  async #poll(): Promise<StoredEvent[]> {
    try {
      const events = await this.o.read(this.#last, this.o.timing.batchLimit);
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

  async #send(events: readonly StoredEvent[]): Promise<void> {
    for (const e of events) {
      if (this.signal.aborted) return;
      if (e.seq <= this.#last) continue; // never twice, whatever the source returns
      for (const frame of await this.o.frames(e)) await this.#frame(frame);
      this.#last = e.seq;
    }
  }

  async #frame(frame: SseFrame): Promise<void> {
    await this.stream.writeSSE({ ...frame, data: this.o.out.redact(frame.data) });
    this.#lastWriteAt = this.o.clock.monotonic();
  }

  async #write(text: string): Promise<void> {
    await this.stream.write(text);
    this.#lastWriteAt = this.o.clock.monotonic();
  }
}
