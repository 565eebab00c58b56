/**
 * Helpers for the HTTP tests (test/http-*.test.ts): a client over real
 * sockets that can send any Host header and body, an SSE reader, and a
 * transcript of every response (status, headers, body, stream frames) that
 * each test file scans for the admin token at the end.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import { createHttpServer } from '../src/http/http-server.ts';
import type { HttpAppOptions, HttpSource } from '../src/http/routes.ts';
import { createHttpApp } from '../src/http/routes.ts';
import type { Clock } from '../src/time/clock.ts';
import { systemClock } from '../src/time/system-clock.ts';

/** A token long enough to be unmistakable in a scan. */
export function testToken(): string {
  return `tok-${globalThis.crypto.randomUUID()}`;
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  json(): Record<string, unknown>;
}

export interface RequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send the body with Transfer-Encoding: chunked instead of Content-Length. */
  chunked?: boolean;
}

/** Every response seen, as text, for the secret scan. */
export class Transcript {
  readonly entries: string[] = [];

  record(what: string, headers: IncomingHttpHeaders, body: string): void {
    this.entries.push(`${what}\n${JSON.stringify(headers)}\n${body}`);
  }

  /** Fails naming the response if any entry contains `secret`. */
  assertNoSecret(secret: string): void {
    assert.ok(this.entries.length > 0, 'the transcript is empty: nothing was scanned');
    for (const entry of this.entries) {
      assert.ok(!entry.includes(secret), `a response contains the secret:\n${entry.slice(0, 500)}`);
    }
  }
}

export class HttpClient {
  constructor(
    readonly base: string,
    readonly transcript = new Transcript(),
  ) {}

  request(path: string, init: RequestInit = {}): Promise<Reply> {
    const method = init.method ?? 'GET';
    const headers: Record<string, string | number> = { ...init.headers };
    if (init.body !== undefined && !init.chunked) headers['content-length'] = Buffer.byteLength(init.body);
    return new Promise((resolve, reject) => {
      const req = httpRequest(`${this.base}${path}`, { method, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          this.transcript.record(`${method} ${path} -> ${res.statusCode}`, res.headers, body);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) });
        });
      });
      req.on('error', reject);
      if (init.body !== undefined) req.write(init.body);
      req.end();
    });
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Reply> {
    return this.request(path, { headers });
  }

  post(path: string, token?: string, body?: string): Promise<Reply> {
    const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return this.request(path, { method: 'POST', headers, ...(body === undefined ? {} : { body }) });
  }

  /** Opens an SSE stream; resolves once the response headers arrived. */
  sse(path: string, headers: Record<string, string> = {}): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(`${this.base}${path}`, { headers, agent: false }, (res) => {
        const client = new SseClient(res.statusCode ?? 0, res.headers, () => req.destroy());
        res.setEncoding('utf8');
        res.on('data', (text: string) => {
          client.feed(text);
          this.transcript.record(`GET ${path} (stream chunk)`, res.headers, text);
        });
        res.on('error', () => {});
        res.on('close', () => client.markClosed());
        resolve(client);
      });
      req.on('error', reject);
      req.end();
    });
  }
}

export interface SseFrame {
  id?: string;
  event?: string;
  data: string;
}

export class SseClient {
  readonly frames: SseFrame[] = [];
  readonly comments: string[] = [];
  closed = false;
  #buffer = '';

  constructor(
    readonly status: number,
    readonly headers: IncomingHttpHeaders,
    readonly close: () => void,
  ) {}

  feed(text: string): void {
    this.#buffer += text;
    let end = this.#buffer.indexOf('\n\n');
    while (end !== -1) {
      this.#block(this.#buffer.slice(0, end));
      this.#buffer = this.#buffer.slice(end + 2);
      end = this.#buffer.indexOf('\n\n');
    }
  }

  markClosed(): void {
    this.closed = true;
  }

  /** The stored-event frames (those with an id), their data parsed. */
  get events(): Array<{ seq: number; type: string; loop: string | null; data: unknown; id: string; event: string }> {
    return this.frames
      .filter((f) => f.id !== undefined)
      .map((f) => ({
        ...(JSON.parse(f.data) as { seq: number; type: string; loop: string | null; data: unknown }),
        id: f.id as string,
        event: f.event ?? '',
      }));
  }

  /** Waits until at least `n` stored events arrived. */
  async waitForEvents(n: number, timeoutMs = 3_000): Promise<void> {
    await waitFor(`${n} SSE events (have ${this.events.length})`, () => this.events.length >= n, timeoutMs);
  }

  #block(block: string): void {
    const frame: SseFrame = { data: '' };
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
      else if (line.startsWith('id: ')) frame.id = line.slice(4);
      else if (line.startsWith('event: ')) frame.event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length > 0 || frame.id !== undefined) {
      frame.data = data.join('\n');
      this.frames.push(frame);
    }
  }
}

/** Serves `source` on 127.0.0.1 with a free port; `stop()` closes it. */
export async function serve(
  source: HttpSource,
  options: HttpAppOptions = {},
): Promise<{ url: string; port: number; client: HttpClient; stop(): Promise<void> }> {
  const server = createHttpServer({ host: '127.0.0.1', port: 0, app: createHttpApp(source, options) });
  const { url, port } = await server.start();
  return { url, port, client: new HttpClient(url), stop: () => server.stop() };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 3_000) {
  const deadline = performance.now() + timeoutMs;
  while (!(await predicate())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** The system clock, counting sleeps that have not settled yet: 0 after every stream ended means no leaked timer. */
export function countingClock(): Clock & { readonly pendingSleeps: number; readonly sleeps: number } {
  let pending = 0;
  let started = 0;
  return {
    now: () => systemClock.now(),
    monotonic: () => systemClock.monotonic(),
    setTimer: (ms, fn) => systemClock.setTimer(ms, fn),
    async sleep(ms, signal) {
      pending++;
      started++;
      try {
        await systemClock.sleep(ms, signal);
      } finally {
        pending--;
      }
    },
    get pendingSleeps() {
      return pending;
    },
    get sleeps() {
      return started;
    },
  };
}
