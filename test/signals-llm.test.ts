/**
 * The signals recipe's LLM stage over real HTTP, against the stand-in
 * OpenAI-compatible server (test/support/llm-server.ts): answers parsed and
 * validated, invalid answers failed with their validation error and retried,
 * timeouts that abort the HTTP request, 429s with Retry-After, refusals that
 * say how to fix them without leaking the key, and the `llm_service`
 * dependency of a real runtime: 500s counted by its breaker, the breaker
 * opening on an outage (cycles skipped with the reason) and closing when the
 * server returns. Real time (system clock), as the server's timers are real.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, beforeEach, describe, it } from 'node:test';
import { defineLoop } from '../src/config/define-loop.ts';
import type { Tick } from '../src/core/cycle-record.ts';
import { RateLimitedError, TerminalError, TimeoutError } from '../src/core/errors.ts';
import type { ItemContext } from '../src/core/loop.ts';
import type { AnyEvent } from '../src/observability/events.ts';
import { LlmOutputError, type LlmSignal } from '../src/recipes/signals/llm-output.ts';
import { presetLlmStage } from '../src/recipes/signals/llm-preset-stages.ts';
import {
  createLlmStage,
  type LlmCallEnd,
  type LlmStage,
  type LlmStageOptions,
  LlmUnavailableError,
  type StageInput,
} from '../src/recipes/signals/llm-stage.ts';
import { createRuntime, type Runtime } from '../src/runtime/runtime.ts';
import { systemClock } from '../src/time/system-clock.ts';
import { type LlmServer, startLlmServer } from './support/llm-server.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await predicate())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the call to reject');
}

const tick: Tick = {
  id: 'signals@2026-01-01T00:00:00.000Z',
  loop: 'signals',
  trigger: 'cron',
  scheduledAt: Date.UTC(2026, 0, 1),
};

function input(symbol: string, rsi: number): StageInput {
  return { symbol, tick, indicators: { rsi, ema: { fast: 101.5, slow: 99.2 } }, previous: null };
}

const ctx = () => ({ signal: new AbortController().signal, clock: systemClock });

/** The act of a loop whose items are symbols: one seed Signal stage call each, RSI from the item's payload. */
function llmAct(stage: LlmStage) {
  return async (item: { key: string; payload: unknown }, c: ItemContext) => {
    const rsi = typeof item.payload === 'number' ? item.payload : 50;
    return (await stage.run({ ...input(item.key, rsi), tick: c.tick }, c)).value;
  };
}

describe('LLM stage over real HTTP (stand-in server)', () => {
  let llm: LlmServer;
  let stage: (over?: Partial<LlmStageOptions>) => LlmStage<LlmSignal>;
  before(async () => {
    llm = await startLlmServer({ latency: 20 });
    stage = (over = {}) =>
      createLlmStage({
        name: 'signal',
        baseURL: llm.baseURL,
        apiKey: llm.apiKey,
        model: 'stand-in',
        system: 'You are a test. Answer with JSON.',
        user: 'Symbol: {{symbol}}\nIndicators: {{indicators}}\nJSON schema: {{format}}',
        ...over,
      });
  });
  beforeEach(() => {
    llm.set({ latency: 20, errorRate: 0, rateLimit: false, malformed: false, hang: false, style: 'plain' });
    llm.resetStats();
  });
  after(() => llm.close());

  it('sends the rendered prompt with response_format json_object and returns the validated answer', async () => {
    const calls: LlmCallEnd[] = [];
    const s = presetLlmStage('signal', {
      baseURL: llm.baseURL,
      apiKey: llm.apiKey,
      model: 'stand-in',
      onCallEnd: (end) => calls.push(end),
    });
    const answer = await s.run(input('BTC/USD', 24.5), ctx());
    assert.deepEqual(answer.value, {
      action: 'BUY',
      confidence: 0.76,
      rationale: 'stand-in answer (not a model): RSI 24.5 is oversold',
    });
    assert.equal(answer.model, 'stand-in');
    assert.ok(answer.latencyMs >= 20, `latency ${answer.latencyMs} ms`);
    assert.ok(answer.usage && answer.usage.promptTokens > 0);
    const [seen] = llm.requests();
    assert.equal(seen?.path, '/v1/chat/completions');
    assert.equal(seen?.authorization, 'ok');
    assert.equal(seen?.request?.responseFormat, 'json_object');
    assert.equal(seen?.request?.maxTokens, 400);
    assert.deepEqual(
      seen?.request?.messages.map((m) => m.role),
      ['system', 'user'],
    );
    const user = seen?.request?.messages[1]?.content ?? '';
    assert.match(
      user,
      /^Symbol: BTC\/USD\nTime: 2026-01-01T00:00:00\.000Z\nIndicators: \{"rsi":24\.5,"ema":\{"fast":101\.5,"slow":99\.2\}\}\n/,
    );
    assert.match(user, /"enum":\["BUY","SELL","HOLD"\]/, 'the schema is in the prompt');
    assert.deepEqual(
      calls.map((c) => [c.stage, c.outcome, c.status]),
      [['signal', 'ok', 200]],
    );

    // Servers that ignore response_format and wrap the JSON: still read.
    llm.set({ style: 'fenced' });
    assert.equal((await s.run(input('ETH/USD', 80), ctx())).value.action, 'SELL');
    llm.set({ style: 'prose' });
    assert.equal((await s.run(input('ETH/USD', 50), ctx())).value.action, 'HOLD');
    // A base URL without /v1 (some local servers) reaches /chat/completions.
    const bare = createLlmStage({
      name: 'bare',
      baseURL: llm.origin,
      apiKey: llm.apiKey,
      model: 'm',
      user: '{{symbol}} JSON',
    });
    await bare.run(input('SOL/USD', 50), ctx());
    assert.equal(llm.requests().at(-1)?.path, '/chat/completions');
    const report = presetLlmStage('report', {
      baseURL: llm.baseURL,
      apiKey: llm.apiKey,
      model: 'stand-in',
      responseFormat: 'none',
    });
    const summary = await report.run({ ...input('BTC/USD', 20), previous: answer.value }, ctx());
    assert.match(summary.value.summary, /^BTC\/USD: (BUY|SELL|HOLD) at confidence/);
    assert.equal(
      llm.requests().at(-1)?.request?.responseFormat,
      undefined,
      "responseFormat: 'none' sends no response_format",
    );
  });

  it('fails invalid answers with the validation error, retries per policy, and succeeds once the server answers well', async () => {
    const loop = defineLoop({
      name: 'llm-retry',
      trigger: { manual: true },
      observe: () => [{ key: 'BTC/USD', payload: 25 }],
      act: llmAct(stage()),
      policies: { concurrency: 1, retry: { attempts: 3, backoff: '10ms' }, lease: false },
    });
    const runtime = createRuntime({ loops: [loop] });
    const events: AnyEvent[] = [];
    runtime.bus.onAny((e) => events.push(e));
    await runtime.start({ schedule: false });
    try {
      // Attempt 1 answers prose, attempt 2 truncated JSON, attempt 3 a valid answer.
      llm.set({ malformed: { kind: 'non-json', count: 1 } });
      const ok = runtime.run('llm-retry');
      await waitFor('the first malformed answer', () => (llm.stats().outcomes.malformed ?? 0) === 1, 3_000);
      llm.set({ malformed: { kind: 'truncated', count: 1 } });
      const record = await ok;
      assert.equal(record.outcome.kind, 'ok', JSON.stringify(record.outcome));
      const [item] = await runtime.store.cycles.items(record.id);
      assert.equal(item?.attempts, 3);
      assert.deepEqual(item?.output, {
        action: 'BUY',
        confidence: 0.75,
        rationale: 'stand-in answer (not a model): RSI 25 is oversold',
      });
      const retried = events.flatMap((e) => (e.type === 'item.retried' ? [e.data.error] : []));
      assert.deepEqual(
        retried.map((e) => e.name),
        ['LlmOutputError', 'LlmOutputError'],
      );
      assert.match(
        retried[0]?.message ?? '',
        /expected the answer to be one JSON object, got no JSON object in the text/,
      );
      assert.match(retried[1]?.message ?? '', /the JSON object is not closed .* raise maxTokens/);

      // Every attempt fails the schema: the item fails with the path, the expectation and what came.
      llm.set({ malformed: { kind: 'schema' } });
      const failed = await runtime.run('llm-retry');
      assert.equal(failed.outcome.kind, 'failed');
      const [bad] = await runtime.store.cycles.items(failed.id);
      assert.equal(bad?.status, 'failed');
      assert.equal(bad?.attempts, 3, 'retried per policy (3 attempts), not terminal');
      assert.equal(bad?.error?.name, 'LlmOutputError');
      assert.match(
        bad?.error?.message ?? '',
        /the answer does not match the output schema: action: expected one of "BUY", "SELL", "HOLD", got "STRONG_BUY"; confidence: expected a number <= 1, got 1\.7; rationale: expected string, got nothing$/,
      );

      // The server recovers.
      llm.set({ malformed: false });
      const recovered = await runtime.run('llm-retry');
      assert.equal(recovered.outcome.kind, 'ok');
      assert.equal((await runtime.store.cycles.items(recovered.id))[0]?.attempts, 1);
    } finally {
      await runtime.stop({ graceMs: 2_000 });
    }
  });

  it('times out: the HTTP request is aborted (the server sees the socket close) and a TimeoutError is thrown', async () => {
    llm.set({ hang: true });
    const calls: LlmCallEnd[] = [];
    const s = stage({ timeout: '300ms', onCallEnd: (end) => calls.push(end) });
    const started = performance.now();
    const error = await rejection(s.run(input('BTC/USD', 50), ctx()));
    const tookMs = performance.now() - started;
    assert.ok(error instanceof TimeoutError, String(error));
    assert.match(
      error.message,
      /^llm stage "signal" \(model stand-in at http:\/\/127\.0\.0\.1:\d+\/v1\): timed out after 300 ms$/,
    );
    assert.ok(tookMs >= 295 && tookMs < 2_000, `rejected after ${tookMs.toFixed(0)} ms`);
    await waitFor('the server to see the socket close', () => llm.requests().length === 1, 2_000);
    const [seen] = llm.requests();
    assert.equal(seen?.outcome, 'client-closed');
    // Same process, same performance.now() timeline: the socket closed when the 300 ms timeout fired, not before.
    const closedAfterMs = (seen?.arrivedAt ?? 0) + (seen?.durationMs ?? 0) - started;
    assert.ok(
      closedAfterMs >= 295 && closedAfterMs < 1_000,
      `the server saw the close ${closedAfterMs.toFixed(0)} ms after the call`,
    );
    assert.equal(llm.stats().inflight, 0);
    assert.deepEqual(
      calls.map((c) => c.outcome),
      ['timeout'],
    );

    // The item's own signal (shutdown, its timeout, a lost lease) aborts the request too, with its reason.
    const item = new AbortController();
    const pending = s.run(input('ETH/USD', 50), { signal: item.signal, clock: systemClock });
    await waitFor('the request to arrive', () => llm.stats().inflight === 1, 2_000);
    const reason = new Error('item aborted by the test');
    item.abort(reason);
    assert.equal(await rejection(pending), reason);
    await waitFor('the server to see that socket close too', () => llm.requests().length === 2, 2_000);
    assert.equal(llm.requests()[1]?.outcome, 'client-closed');
    assert.equal(calls.at(-1)?.outcome, 'aborted');
  });

  it('maps a 429 to RateLimitedError with the delay Retry-After asks for', async () => {
    const s = stage({ defaultRetryAfter: '3s' });
    const cases: Array<[{ retryAfter?: string; retryAfterMs?: number }, (ms: number) => boolean, string]> = [
      [{ retryAfter: '2' }, (ms) => ms === 2_000, 'Retry-After: 2'],
      [{ retryAfterMs: 1500, retryAfter: '9' }, (ms) => ms === 1_500, 'retry-after-ms: 1500'],
      [{ retryAfter: new Date(Date.now() + 4_000).toUTCString() }, (ms) => ms > 2_500 && ms <= 4_000, 'Retry-After: '],
      [{}, (ms) => ms === 3_000, 'no Retry-After, default delay'],
      [{ retryAfter: 'soon' }, (ms) => ms === 3_000, 'unreadable Retry-After "soon", default delay'],
    ];
    for (const [headers, delayOk, says] of cases) {
      llm.set({ rateLimit: { ...headers, count: 1 } });
      const error = await rejection(s.run(input('BTC/USD', 50), ctx()));
      assert.ok(error instanceof RateLimitedError, String(error));
      assert.ok(delayOk(error.retryAfterMs), `${JSON.stringify(headers)} -> ${error.retryAfterMs} ms`);
      assert.ok(error.message.includes(says), error.message);
      assert.match(error.message, /rate limited \(429: Rate limit reached \(stand-in\)\.\)/);
    }
    assert.equal(llm.stats().outcomes['rate-limited'], cases.length);
  });

  it('a 429 inside a loop pauses the llm_service rate limit for Retry-After, then the retry succeeds', async () => {
    const loop = defineLoop({
      name: 'llm-429',
      trigger: { manual: true },
      observe: () => [
        { key: 'BTC/USD', payload: 20 },
        { key: 'ETH/USD', payload: 80 },
      ],
      act: llmAct(stage()),
      policies: { concurrency: 1, retry: { attempts: 2, backoff: '10ms' }, uses: ['llm_service'], lease: false },
    });
    const runtime = createRuntime({
      loops: [loop],
      dependencies: { llm_service: { rateLimit: { requests: 100, per: '1m' } } },
    });
    await runtime.start({ schedule: false });
    try {
      llm.set({ rateLimit: { retryAfter: '1', count: 1 } });
      const record = await runtime.run('llm-429');
      assert.equal(record.outcome.kind, 'ok', JSON.stringify(record.outcome));
      const seen = llm.requests();
      assert.deepEqual(
        seen.map((r) => r.outcome),
        ['rate-limited', 'ok', 'ok'],
      );
      const gap = (seen[1]?.arrivedAt ?? 0) - (seen[0]?.arrivedAt ?? 0);
      assert.ok(gap >= 950, `the next call came ${gap.toFixed(0)} ms after the 429 (Retry-After: 1)`);
    } finally {
      await runtime.stop({ graceMs: 2_000 });
    }
  });

  it('401, 404 and a wrong base URL are terminal errors that say how to fix them, without the key', async () => {
    const secret = 'sk-live-THIS-IS-SECRET-0123456789';
    const calls: LlmCallEnd[] = [];
    const wrongKey = stage({ apiKey: secret, onCallEnd: (end) => calls.push(end) });
    const error = await rejection(wrongKey.run(input('BTC/USD', 50), ctx()));
    assert.ok(error instanceof TerminalError, String(error));
    assert.match(
      error.message,
      /the API key was refused \(401: Incorrect API key provided: sk-\*\*\*\.\); set LLM_API_KEY \(or OPENROUTER_API_KEY\)/,
    );
    assert.ok(!error.message.includes(secret) && !error.message.includes('SECRET'), error.message);
    assert.ok(!JSON.stringify(error).includes('SECRET'), 'nor in its fields');
    assert.equal(llm.requests()[0]?.authorization, 'wrong');
    assert.deepEqual(
      calls.map((c) => [c.outcome, c.status]),
      [['refused', 401]],
    );
    // A key that does not look like sk-... is scrubbed too, even when the server echoes it.
    const plain = await rejection(stage({ apiKey: 'plain-secret-key-42' }).run(input('BTC/USD', 50), ctx()));
    assert.ok(plain instanceof TerminalError && !plain.message.includes('plain-secret-key-42'), String(plain));

    const models = await startLlmServer({ models: ['llama3.1'] });
    try {
      const wrongModel = createLlmStage({
        name: 'score',
        baseURL: models.baseURL,
        apiKey: models.apiKey,
        model: 'gpt-5',
        user: '{{symbol}} JSON',
      });
      const notFound = await rejection(wrongModel.run(input('BTC/USD', 50), ctx()));
      assert.ok(notFound instanceof TerminalError);
      assert.match(
        notFound.message,
        /not found \(404: The model `gpt-5` does not exist\.\); check the model name \(GET <base URL>\/models lists them\)/,
      );
      const wrongUrl = createLlmStage({
        name: 'score',
        baseURL: `${models.origin}/api`,
        apiKey: models.apiKey,
        model: 'llama3.1',
        user: '{{symbol}} JSON',
      });
      const wrongPath = await rejection(wrongUrl.run(input('BTC/USD', 50), ctx()));
      assert.ok(wrongPath instanceof TerminalError);
      assert.match(
        wrongPath.message,
        /at http:\/\/127\.0\.0\.1:\d+\/api\): not found \(404: Unknown route POST \/api\/chat\/completions\); .*the base URL ends where the API does \(usually \/v1/,
      );
    } finally {
      await models.close();
    }

    // Inside a loop: one attempt (no retry), and the key is nowhere in what the runtime records.
    const loop = defineLoop({
      name: 'llm-401',
      trigger: { manual: true },
      observe: () => ['BTC/USD'],
      act: llmAct(wrongKey),
      policies: { retry: { attempts: 3, backoff: '10ms' }, lease: false },
    });
    const runtime = createRuntime({ loops: [loop] });
    const events: AnyEvent[] = [];
    runtime.bus.onAny((e) => events.push(e));
    await runtime.start({ schedule: false });
    try {
      const record = await runtime.run('llm-401');
      const [item] = await runtime.store.cycles.items(record.id);
      assert.equal(item?.attempts, 1);
      assert.equal(item?.error?.name, 'TerminalError');
      const stored = JSON.stringify({ record, item, events, log: await runtime.store.events.latest({ limit: 100 }) });
      assert.ok(!stored.includes('SECRET'), 'the key is in no record, item result or event');
    } finally {
      await runtime.stop({ graceMs: 2_000 });
    }
  });

  it('500s are retryable LlmUnavailableErrors that the llm_service breaker counts as failures', async () => {
    llm.set({ errorRate: 1 });
    const loop = defineLoop({
      name: 'llm-500',
      trigger: { manual: true },
      observe: () => ['A', 'B', 'C', 'D', 'E'],
      act: llmAct(stage()),
      policies: { concurrency: 1, uses: ['llm_service'], lease: false },
    });
    const runtime = createRuntime({
      loops: [loop],
      dependencies: { llm_service: { breaker: { failureThreshold: 3, recoveryTimeout: '1h' } } },
    });
    await runtime.start({ schedule: false });
    try {
      const record = await runtime.run('llm-500');
      const items = await runtime.store.cycles.items(record.id);
      assert.deepEqual(items.map((i) => i.error?.name).sort(), [
        'BreakerOpenError',
        'BreakerOpenError',
        'LlmUnavailableError',
        'LlmUnavailableError',
        'LlmUnavailableError',
      ]);
      assert.match(
        items.find((i) => i.error?.name === 'LlmUnavailableError')?.error?.message ?? '',
        /the server failed \(500: Injected server error \(stand-in\)\.\); retrying per policy$/,
      );
      assert.equal(llm.stats().requests, 3, 'exactly failureThreshold calls reached the server');
      assert.equal(runtime.dependencies.get('llm_service')?.breaker?.state, 'open');
    } finally {
      await runtime.stop({ graceMs: 2_000 });
    }
    const direct = await rejection(stage().run(input('A', 50), ctx()));
    assert.ok(direct instanceof LlmUnavailableError && direct.status === 500 && !(direct instanceof TerminalError));
  });

  it('the llm_service breaker opens on an outage, cycles are skipped with the reason, and it closes when the server returns', async (t) => {
    llm.set({ latency: 50 });
    const loop = defineLoop({
      name: 'llm-outage',
      trigger: { cron: '* * * * * *' },
      observe: () => [
        { key: 'BTC/USD', payload: 20 },
        { key: 'ETH/USD', payload: 50 },
        { key: 'SOL/USD', payload: 80 },
        { key: 'DOGE/USD', payload: 50 },
      ],
      act: llmAct(stage({ timeout: '2s' })),
      policies: { concurrency: 1, timeout: '3s', uses: ['llm_service'] },
    });
    const runtime: Runtime = createRuntime({
      loops: [loop],
      dependencies: {
        llm_service: {
          breaker: { failureThreshold: 3, recoveryTimeout: '1s', halfOpenMaxCalls: 2, successThreshold: 2 },
          rateLimit: { requests: 100, per: '1m' },
        },
      },
    });
    const transitions: string[] = [];
    runtime.bus.on('breaker.state', ({ to }) => transitions.push(to));
    await runtime.start();
    // Dependencies are built when the runtime starts (their shared buckets live in the store).
    const breaker = runtime.dependencies.get('llm_service')?.breaker;
    assert.ok(breaker);
    try {
      await waitFor(
        'an ok cycle',
        async () => (await runtime.store.cycles.list('llm-outage')).some((c) => c.outcome.kind === 'ok'),
        4_000,
      );
      const latency = runtime.dependencies.get('llm_service')?.latency;
      assert.ok(latency && latency.count >= 4, 'each call fed the dependency latency window');
      assert.ok(latency.p50 >= 50, `p50 ${latency.p50} ms includes the server's 50 ms`);

      await llm.down();
      await waitFor('the breaker to open', () => breaker.state === 'open', 4_000);
      await waitFor(
        'a cycle skipped because the breaker is open',
        async () =>
          (await runtime.store.cycles.list('llm-outage')).some(
            (c) => c.outcome.kind === 'skipped' && c.outcome.reason.startsWith('breaker: llm_service is open'),
          ),
        4_000,
      );
      const failed = (await runtime.store.cycles.list('llm-outage', { limit: 20 })).filter((c) => c.counts.failed > 0);
      assert.ok(failed.length > 0);
      const items = await runtime.store.cycles.items(failed.at(-1)?.id ?? '');
      const names = new Set(items.map((i) => i.error?.name));
      assert.ok(names.has('LlmUnavailableError'), `errors: ${[...names].join(', ')}`);
      assert.match(
        items.find((i) => i.error?.name === 'LlmUnavailableError')?.error?.message ?? '',
        /could not reach the server \(.*(ECONNREFUSED|other side closed|ECONNRESET).*\); is it running, and is the base URL right\?/,
      );

      await llm.up();
      await waitFor('the breaker to close', () => breaker.state === 'closed', 5_000);
      const closedAt = performance.now();
      await waitFor(
        'an ok cycle after recovery',
        async () => {
          const [last] = await runtime.store.cycles.list('llm-outage', { limit: 1 });
          return last?.outcome.kind === 'ok' && last.startedAt > Date.now() - (performance.now() - closedAt) - 1_000;
        },
        4_000,
      );
      assert.deepEqual(transitions.slice(0, 2), ['open', 'half-open']);
      assert.equal(transitions.at(-1), 'closed');
      const skipped = (await runtime.store.cycles.list('llm-outage', { limit: 100 })).filter(
        (c) => c.outcome.kind === 'skipped',
      );
      t.diagnostic(
        `transitions ${transitions.join(' -> ')}; ${skipped.length} cycle(s) skipped; server ${JSON.stringify(llm.stats())}`,
      );
    } finally {
      await runtime.stop({ graceMs: 3_000 });
    }
  });

  it('a 200 that is not a completion: an error body is retryable, a web page is terminal with a base-URL hint', async () => {
    const s = stage();
    llm.set({ malformed: { kind: 'error-body', count: 1 } });
    const upstream = await rejection(s.run(input('BTC/USD', 50), ctx()));
    assert.ok(upstream instanceof LlmUnavailableError, String(upstream));
    assert.match(
      upstream.message,
      /the server answered 200 with an error \(code 502\): Upstream provider error \(stand-in\)\.; retrying per policy$/,
    );
    llm.set({ malformed: { kind: 'html', count: 1 } });
    const page = await rejection(s.run(input('BTC/USD', 50), ctx()));
    assert.ok(page instanceof TerminalError, String(page));
    assert.match(
      page.message,
      /expected an OpenAI chat completion \(with choices\), got text "<!doctype html>.*"; check that the base URL is the API's/,
    );
    assert.equal((await s.run(input('BTC/USD', 50), ctx())).value.action, 'HOLD', 'then a normal answer');
  });

  it('the stand-in draws latency from a range or a function of the request, and fails errorRate of requests', async () => {
    const s = stage();
    llm.set({ latency: { min: 40, max: 120 } });
    await Promise.all(Array.from({ length: 20 }, (_, i) => s.run(input(`R${i}`, 50), ctx())));
    const planned = llm.requests().map((r) => r.plannedMs);
    assert.ok(
      planned.every((ms) => ms >= 40 && ms <= 120),
      `drawn ${planned.map((d) => d.toFixed(0))}`,
    );
    assert.ok(new Set(planned.map((d) => Math.round(d / 10))).size > 2, 'latencies differ');
    assert.ok(
      // Node's timers run on a loop clock cached in whole ms: allow 2 ms early against performance.now().
      llm.requests().every((r) => r.durationMs >= r.plannedMs - 2),
      'each answer waited its latency',
    );
    llm.resetStats();
    llm.set({ latency: (req) => (req.messages.some((m) => m.content.includes('SLOW/USD')) ? 300 : 10) });
    await Promise.all([s.run(input('SLOW/USD', 50), ctx()), s.run(input('FAST/USD', 50), ctx())]);
    const bySymbol = new Map(
      llm.requests().map((r) => [/Symbol: (\S+)/.exec(r.request?.messages[1]?.content ?? '')?.[1], r]),
    );
    assert.equal(bySymbol.get('SLOW/USD')?.plannedMs, 300);
    assert.equal(bySymbol.get('FAST/USD')?.plannedMs, 10);
    assert.ok((bySymbol.get('SLOW/USD')?.durationMs ?? 0) >= 298);
    llm.resetStats();
    llm.set({ latency: 0, errorRate: 0.5 });
    const settled = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => s.run(input(`E${i}`, 50), ctx())));
    const failed = settled.filter((r) => r.status === 'rejected').length;
    assert.equal(failed, llm.stats().outcomes.error ?? 0);
    assert.ok(failed > 5 && failed < 35, `${failed} of 40 failed at errorRate 0.5`);
  });

  it('the stand-in serves 150 slow requests at once', async (t) => {
    // Long enough that all 150 are launched before the first is answered, even on a loaded machine.
    llm.set({ latency: 1_500 });
    const s = stage({ timeout: '10s' });
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 150 }, (_, i) => s.run(input(`S${i}/USD`, i % 100), ctx())));
    const wallMs = performance.now() - started;
    assert.equal(answers.length, 150);
    assert.equal(llm.stats().outcomes.ok, 150);
    assert.equal(llm.stats().maxInflight, 150, 'all 150 were in flight together');
    t.diagnostic(
      `150 requests of 1500 ms each: ${wallMs.toFixed(0)} ms wall time, max in flight ${llm.stats().maxInflight}`,
    );
  });
});

describe('LLM stage config', () => {
  it('rejects bad options and unknown placeholders at creation, all in one error', () => {
    assert.throws(
      () =>
        createLlmStage({
          name: 'score',
          baseURL: 'localhost:11434',
          model: 'm',
          user: 'rate {{symbl}} with {{indicators.rsi}}',
          system: 'hi {{tick.when}}',
          timeout: '0s',
        }),
      (error: unknown) => {
        const lines = error instanceof Error ? error.message.split('\n') : [];
        assert.equal(lines.length, 4, lines.join('\n'));
        assert.match(lines[0] ?? '', /^createLlmStage\(score\): baseURL: expected an http\(s\) URL/);
        assert.match(
          lines[1] ?? '',
          /^createLlmStage\(score\): timeout: expected a duration > 0 like "10s", got "0s"$/,
        );
        assert.match(
          lines[2] ?? '',
          /^createLlmStage\(score\): system: expected a field of tick: one of id, loop, trigger, scheduledAt, got "\{\{tick\.when\}\}"/,
        );
        assert.match(
          lines[3] ?? '',
          /^createLlmStage\(score\): user: .* got "\{\{symbl\}\}" at line 1, column 6; did you mean "symbol"\?$/,
        );
        return true;
      },
    );
  });

  it('takes extra inputs the pipeline declares', async () => {
    const llm = await startLlmServer();
    try {
      const s = createLlmStage({
        name: 'advise',
        baseURL: llm.baseURL,
        apiKey: llm.apiKey,
        model: 'm',
        user: '{{symbol}} risk={{risk.level}} JSON',
        inputs: { risk: { level: 'value' } },
      });
      await s.run({ ...input('BTC/USD', 50), risk: { level: 'low' } }, ctx());
      assert.equal(llm.requests()[0]?.request?.messages[0]?.content, 'BTC/USD risk=low JSON');
      assert.throws(
        () => createLlmStage({ name: 'x', baseURL: llm.baseURL, model: 'm', user: '{{risk}}' }),
        /did you mean|naming one of/,
      );
    } finally {
      await llm.close();
    }
  });

  it('LlmOutputError is retryable, not terminal', () => {
    assert.ok(!(new LlmOutputError('x', [], '') instanceof TerminalError));
  });
});
