/**
 * A stand-in for an OpenAI-compatible chat-completions server, for tests and
 * benchmarks. It is NOT an LLM and runs no model: it answers every request
 * with a deterministic JSON object computed from the request's text (an RSI
 * value found in the prompt decides the action; otherwise a hash of the
 * prompt does), so tests can predict answers, and it injects the faults a
 * real provider has. A real node:http server on 127.0.0.1 (port 0), with real
 * timers.
 *
 * Protocol: `POST /v1/chat/completions` (also `/chat/completions`, for base
 * URLs without `/v1`), `GET /v1/models` (also `/models`); `Authorization:
 * Bearer <apiKey>` checked (401 with an OpenAI-style error body when wrong,
 * which echoes the key it was given, as careless servers do);
 * an unknown model is a 404 when `models` is given.
 *
 * Faults, changeable at run time with `set()`, checked in this order when a
 * completion request arrives:
 * - `rateLimit`: 429 at once with `Retry-After` (and/or `retry-after-ms`);
 * - `hang`: never answered; ends when the client closes the socket (recorded
 *   as `client-closed`) or the server goes `down()` (`dropped`);
 * - otherwise the request waits its latency (`latency`: fixed ms, `{ min, max }`
 *   uniform, or a function of the request), then answers `errorStatus` (500)
 *   with probability `errorRate`, else 200 with the answer, spoiled by
 *   `malformed` when set (`non-json`, `schema`: valid JSON failing the default
 *   signal schema, `truncated`: cut in half with finish_reason `length`,
 *   `empty`; and two 200s that are not completions: `error-body`, an error
 *   object as OpenRouter sends for some upstream failures, and `html`, a web
 *   page as a wrong base URL may serve). `style` wraps a valid answer in code fences or prose (still
 *   valid, for servers that ignore response_format).
 * Faults with a `count` apply to that many requests, then clear themselves.
 * `down()` closes the listener and drops every connection (clients see
 * ECONNREFUSED); `up()` listens again on the same port.
 *
 * Each request costs one timer and its socket, so hundreds of concurrent slow
 * requests are cheap (`npm run bench` runs 20+ at 10 s each).
 *
 * @example
 * const llm = await startLlmServer({ latency: 50 });
 * // createLlmStage({ baseURL: llm.baseURL, apiKey: llm.apiKey, model: 'stand-in', ... })
 * llm.set({ rateLimit: { retryAfter: '2', count: 1 } });
 * llm.stats(); // { requests, inflight, maxInflight, outcomes: { ok: 3, 'rate-limited': 1, ... } }
 * await llm.close();
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

export type LatencySpec = number | { min: number; max: number } | ((request: ChatRequest) => number);
export type MalformedKind = 'non-json' | 'schema' | 'truncated' | 'empty' | 'error-body' | 'html';

export interface LlmServerFaults {
  /** Delay before answering a completion, ms. Default 0. */
  latency: LatencySpec;
  /** Probability (0..1) that a completion answers `errorStatus` after its latency. Default 0. */
  errorRate: number;
  /** Default 500. */
  errorStatus: number;
  /** Answer 429 at once, `count` times or while set. `retryAfter` is the header's text (seconds or an HTTP-date). */
  rateLimit: false | { retryAfter?: string; retryAfterMs?: number; count?: number };
  /** Spoil the answers' content, `count` times or while set. */
  malformed: false | { kind: MalformedKind; count?: number };
  /** Never answer, `count` requests or while set. */
  hang: boolean | { count?: number };
  /** How a valid answer is written: bare JSON (default), in a ```json fence, or inside prose. */
  style: 'plain' | 'fenced' | 'prose';
}

export interface LlmServerOptions extends Partial<LlmServerFaults> {
  /** The bearer key clients must send; `null` accepts any. Default `test-key`. */
  apiKey?: string | null;
  /** Known models: others get a 404. Default: any model is accepted, `/models` lists `stand-in`. */
  models?: readonly string[];
  /** Replaces the default answer object. */
  answer?: (request: ChatRequest) => Record<string, unknown>;
  /** Seed of the server's random numbers (latency ranges, errorRate). Default 1. */
  seed?: number;
}

/** A completion request as the server read it. */
export interface ChatRequest {
  readonly model: string;
  readonly messages: ReadonlyArray<{ role: string; content: string }>;
  readonly responseFormat?: string;
  readonly temperature?: number;
  readonly maxTokens?: number;
}

export type RequestOutcome =
  | 'ok'
  | 'malformed'
  | 'error'
  | 'rate-limited'
  | 'unauthorized'
  | 'not-found'
  | 'bad-request'
  | 'client-closed'
  | 'dropped';

/** One request, recorded when it ended. */
export interface RecordedRequest {
  /** Arrival order, from 1. */
  readonly id: number;
  /** Date.now() at arrival. */
  readonly at: number;
  /** performance.now() at arrival (the test's timeline). */
  readonly arrivedAt: number;
  readonly method: string;
  readonly path: string;
  /** For completions whose body parsed. */
  readonly request?: ChatRequest;
  readonly authorization: 'ok' | 'missing' | 'wrong';
  readonly outcome: RequestOutcome;
  /** Status sent; 0 when none was (client closed, dropped). */
  readonly status: number;
  /** Arrival to answer (or to the socket closing). */
  readonly durationMs: number;
  /** The latency drawn for it (0 for answers sent at once: 401, 429, hangs). */
  readonly plannedMs: number;
  /** Completions in flight when it arrived, itself included. */
  readonly inflightAtArrival: number;
}

export interface LlmServerStats {
  readonly requests: number;
  readonly inflight: number;
  readonly maxInflight: number;
  readonly outcomes: Readonly<Partial<Record<RequestOutcome, number>>>;
}

export interface LlmServer {
  /** `http://127.0.0.1:<port>/v1` */
  readonly baseURL: string;
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly apiKey: string;
  set(faults: Partial<LlmServerFaults>): void;
  /** Every request that has ended, in order of ending (a copy). */
  requests(): RecordedRequest[];
  stats(): LlmServerStats;
  /** Forgets recorded requests, the request count, outcome counts and the max in flight (ids keep counting). */
  resetStats(): void;
  /** Stops listening and drops every connection: clients get ECONNREFUSED until `up()`. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  readonly isUp: boolean;
  close(): Promise<void>;
}

const DEFAULT_FAULTS: LlmServerFaults = {
  latency: 0,
  errorRate: 0,
  errorStatus: 500,
  rateLimit: false,
  malformed: false,
  hang: false,
  style: 'plain',
};

const MAX_BODY = 1 << 20;

export async function startLlmServer(options: LlmServerOptions = {}): Promise<LlmServer> {
  const { apiKey = 'test-key', models, answer = defaultAnswer, seed = 1, ...faults } = options;
  let current: LlmServerFaults = { ...DEFAULT_FAULTS, ...faults };
  const random = mulberry32(seed);
  let recorded: RecordedRequest[] = [];
  let outcomes: Partial<Record<RequestOutcome, number>> = {};
  let arrivals = 0;
  let lastId = 0;
  let inflight = 0;
  let maxInflight = 0;
  /** Open exchanges, ended with `dropped` when the server goes down. */
  const open = new Set<(outcome: RequestOutcome) => void>();
  let completions = 0;

  /** Takes one use of a counted fault, clearing it when used up. */
  const take = <K extends 'rateLimit' | 'malformed' | 'hang'>(key: K): LlmServerFaults[K] => {
    const fault = current[key];
    if (fault && typeof fault === 'object' && fault.count !== undefined) {
      current = { ...current, [key]: fault.count > 1 ? { ...fault, count: fault.count - 1 } : false };
    }
    return fault;
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const arrivedAt = performance.now();
    const at = Date.now();
    const id = ++lastId;
    arrivals++;
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const auth = authorization(req.headers.authorization, apiKey);
    let request: ChatRequest | undefined;
    let inflightAtArrival = 0;
    let plannedMs = 0;
    let counted = false;
    let ended = false;
    let timer: NodeJS.Timeout | undefined;
    const end = (outcome: RequestOutcome, status: number) => {
      if (ended) return;
      ended = true;
      open.delete(drop);
      if (timer) clearTimeout(timer);
      if (counted) inflight--;
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      recorded.push({
        id,
        at,
        arrivedAt,
        method: req.method ?? '',
        path,
        ...(request ? { request } : {}),
        authorization: auth,
        outcome,
        status,
        durationMs: performance.now() - arrivedAt,
        plannedMs,
        inflightAtArrival,
      });
    };
    const drop = (outcome: RequestOutcome) => {
      end(outcome, 0);
      res.socket?.destroy();
    };
    open.add(drop);
    res.once('close', () => {
      if (!res.writableFinished) end('client-closed', 0);
    });
    const send = (status: number, body: unknown, headers: Record<string, string> = {}, outcome?: RequestOutcome) => {
      end(outcome ?? outcomeOf(status), status);
      const text = typeof body === 'string';
      res.writeHead(status, { 'content-type': text ? 'text/html' : 'application/json', ...headers });
      res.end(text ? body : JSON.stringify(body));
    };

    readBody(req).then(
      (body) => {
        if (ended) return;
        if (auth !== 'ok') {
          // Echoes the key it was given, as careless servers do: a client must not pass it on.
          const given = (req.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
          return send(401, apiError(`Incorrect API key provided: ${given || '(none)'}.`, 'invalid_api_key'));
        }
        if (req.method === 'GET' && (path === '/v1/models' || path === '/models')) {
          const data = (models ?? ['stand-in']).map((m) => ({
            id: m,
            object: 'model',
            created: 0,
            owned_by: 'stand-in',
          }));
          return send(200, { object: 'list', data });
        }
        if (req.method !== 'POST' || (path !== '/v1/chat/completions' && path !== '/chat/completions')) {
          return send(404, apiError(`Unknown route ${req.method} ${path}`, 'not_found'));
        }
        const parsed = parseChatRequest(body);
        if (typeof parsed === 'string') return send(400, apiError(parsed, 'invalid_request'));
        request = parsed;
        if (models && !models.includes(parsed.model)) {
          return send(404, apiError(`The model \`${parsed.model}\` does not exist.`, 'model_not_found'));
        }
        const limited = take('rateLimit');
        if (limited) {
          const headers: Record<string, string> = {};
          if (limited.retryAfter !== undefined) headers['retry-after'] = limited.retryAfter;
          if (limited.retryAfterMs !== undefined) headers['retry-after-ms'] = String(limited.retryAfterMs);
          return send(429, apiError('Rate limit reached (stand-in).', 'rate_limit_exceeded'), headers);
        }
        counted = true;
        inflight++;
        maxInflight = Math.max(maxInflight, inflight);
        inflightAtArrival = inflight;
        if (take('hang')) return; // ends on client close or down()
        const o = current;
        const delay = latencyOf(o.latency, parsed, random);
        plannedMs = delay;
        const failing = o.errorRate > 0 && random() < o.errorRate;
        const spoiled = failing ? false : take('malformed');
        timer = setTimeout(() => {
          timer = undefined;
          if (ended) return;
          if (failing) return send(o.errorStatus, apiError('Injected server error (stand-in).', 'server_error'));
          if (spoiled && spoiled.kind === 'error-body') {
            const error = { message: 'Upstream provider error (stand-in).', code: 502 };
            return send(200, { error }, {}, 'malformed');
          }
          if (spoiled && spoiled.kind === 'html') {
            return send(200, '<!doctype html><title>Sign in</title><p>Please sign in.</p>', {}, 'malformed');
          }
          const object = answer(parsed);
          const { content, finish } = spoiled
            ? spoil(object, spoiled.kind)
            : { content: styled(object, o.style), finish: 'stop' };
          send(200, completion(++completions, parsed, content, finish), {}, spoiled ? 'malformed' : 'ok');
        }, delay);
      },
      () => send(400, apiError('Request body unreadable or larger than 1 MiB.', 'invalid_request')),
    );
  };

  const server = createServer(handle);
  // Idle keep-alive sockets stay open until close()/down(): with node's 5 s default, a client may reuse
  // a socket the server is closing at that moment (ECONNRESET), a race tests should not depend on.
  server.keepAliveTimeout = 120_000;
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const { port } = server.address() as AddressInfo;
  let up = true;
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const drop of [...open]) drop('dropped');
      server.close(() => resolve());
      server.closeAllConnections();
    });

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    origin: `http://127.0.0.1:${port}`,
    apiKey: apiKey ?? 'any-key',
    set(next) {
      current = { ...current, ...next };
    },
    requests: () => [...recorded],
    stats: () => ({ requests: arrivals, inflight, maxInflight, outcomes: { ...outcomes } }),
    resetStats() {
      recorded = [];
      arrivals = 0;
      outcomes = {};
      maxInflight = inflight;
    },
    async down() {
      if (!up) return;
      up = false;
      await stop();
    },
    async up() {
      if (up) return;
      await listen(port);
      up = true;
    },
    get isUp() {
      return up;
    },
    async close() {
      if (!up) return;
      up = false;
      await stop();
    },
  };
}

/**
 * The default answer: `{ action, confidence, rationale, summary }`, valid for
 * the signal schema and the report schema. An RSI in the prompt (`"rsi": 28.4`,
 * `"rsi14": ...`) decides: below 30 BUY, above 70 SELL, else HOLD, with
 * confidence growing with the distance from 50. Without one, a hash of the
 * prompt picks the action and confidence.
 */
export function defaultAnswer(request: ChatRequest): Record<string, unknown> {
  const text = request.messages.map((m) => m.content).join('\n');
  const symbol = /Symbol:\s*(\S+)/.exec(text)?.[1] ?? 'the symbol';
  const rsiMatch = /"rsi\w*"\s*:\s*(?:\{\s*"value"\s*:\s*)?(-?\d+(?:\.\d+)?)/i.exec(text);
  let action: 'BUY' | 'SELL' | 'HOLD';
  let confidence: number;
  let why: string;
  if (rsiMatch) {
    const rsi = Number(rsiMatch[1]);
    action = rsi < 30 ? 'BUY' : rsi > 70 ? 'SELL' : 'HOLD';
    confidence = Math.round(Math.min(1, 0.5 + Math.abs(rsi - 50) / 100) * 100) / 100;
    why = `RSI ${rsi} is ${action === 'BUY' ? 'oversold' : action === 'SELL' ? 'overbought' : 'neutral'}`;
  } else {
    const hash = fnv1a(text);
    action = (['BUY', 'SELL', 'HOLD'] as const)[hash % 3] as 'BUY' | 'SELL' | 'HOLD';
    confidence = Math.round((0.5 + ((hash >>> 8) % 50) / 100) * 100) / 100;
    why = `no RSI in the prompt; derived from its hash ${hash.toString(16)}`;
  }
  return {
    action,
    confidence,
    rationale: `stand-in answer (not a model): ${why}`,
    summary: `${symbol}: ${action} at confidence ${confidence} (stand-in, ${why})`,
  };
}

function authorization(header: string | undefined, apiKey: string | null): RecordedRequest['authorization'] {
  if (!header) return apiKey === null ? 'ok' : 'missing';
  if (apiKey === null) return 'ok';
  return header === `Bearer ${apiKey}` ? 'ok' : 'wrong';
}

function outcomeOf(status: number): RequestOutcome {
  if (status === 200) return 'ok';
  if (status === 401) return 'unauthorized';
  if (status === 404) return 'not-found';
  if (status === 429) return 'rate-limited';
  if (status === 400) return 'bad-request';
  return 'error';
}

function apiError(message: string, code: string) {
  return { error: { message, type: 'invalid_request_error', param: null, code } };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The request, or why it is not one. */
function parseChatRequest(body: string): ChatRequest | string {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return 'The request body is not valid JSON.';
  }
  const r = raw as Record<string, unknown>;
  if (typeof r?.model !== 'string' || r.model === '') return "'model' is required.";
  if (!Array.isArray(r.messages) || r.messages.length === 0) return "'messages' must be a non-empty array.";
  const messages = r.messages.map((m: { role?: unknown; content?: unknown }) => ({
    role: String(m?.role ?? ''),
    content: typeof m?.content === 'string' ? m.content : JSON.stringify(m?.content ?? ''),
  }));
  const format = (r.response_format as { type?: unknown } | undefined)?.type;
  return {
    model: r.model,
    messages,
    ...(typeof format === 'string' ? { responseFormat: format } : {}),
    ...(typeof r.temperature === 'number' ? { temperature: r.temperature } : {}),
    ...(typeof r.max_tokens === 'number' ? { maxTokens: r.max_tokens } : {}),
  };
}

/** Whole ms, as node timers count them (a fractional delay would be cut short). */
function latencyOf(spec: LatencySpec, request: ChatRequest, random: () => number): number {
  if (typeof spec === 'number') return Math.round(spec);
  if (typeof spec === 'function') return Math.max(0, Math.round(spec(request)));
  return Math.round(spec.min + random() * (spec.max - spec.min));
}

function styled(object: Record<string, unknown>, style: LlmServerFaults['style']): string {
  const json = JSON.stringify(object);
  if (style === 'fenced') return `Here is the signal:\n\`\`\`json\n${JSON.stringify(object, null, 2)}\n\`\`\``;
  if (style === 'prose') return `Sure. My answer is ${json} - hope that helps.`;
  return json;
}

function spoil(object: Record<string, unknown>, kind: MalformedKind): { content: string; finish: string } {
  const json = JSON.stringify(object);
  switch (kind) {
    case 'non-json':
      return { content: 'The market looks interesting today; I would keep an eye on it.', finish: 'stop' };
    case 'schema':
      return { content: JSON.stringify({ action: 'STRONG_BUY', confidence: 1.7 }), finish: 'stop' };
    case 'truncated':
      return { content: json.slice(0, Math.floor(json.length / 2)), finish: 'length' };
    case 'empty':
      return { content: '', finish: 'stop' };
    default:
      throw new Error(`spoil: ${kind} is not a content fault`);
  }
}

function completion(n: number, request: ChatRequest, content: string, finish: string) {
  const promptTokens = Math.ceil(request.messages.reduce((sum, m) => sum + m.content.length, 0) / 4);
  const completionTokens = Math.ceil(content.length / 4);
  return {
    id: `chatcmpl-standin-${n}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: request.model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: finish, logprobs: null }],
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    },
  };
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
