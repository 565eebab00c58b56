import {
  type Attributes,
  type HrTime,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { ErrorInfo } from '../core/errors.ts';
import { type Logger, silentLogger } from '../core/logger.ts';
import type { Clock } from '../time/clock.ts';
import type { Disposable, EventBus, EventMap } from './events.ts';
import { type HookSpan, NO_SPANS, type SpanAttributes, type SpanHook, type SpanStart } from './span-hook.ts';

export interface TracingOptions {
  /** `tracing.enabled` from the config. Off by default; OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn it off too. */
  enabled: boolean;
  /** For OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER. The OTLP exporter reads its own OTEL_EXPORTER_OTLP_* variables from process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** `service.name`, unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES set it. Default `autoloop`. */
  serviceName?: string;
  /** Where spans go. Default an OTLP/HTTP exporter configured by the standard OTEL_* variables. */
  exporter?: SpanExporter;
  /** `batch` (default; OTEL_BSP_* apply) or `simple` (one export per span: tests, debugging). */
  processor?: 'batch' | 'simple';
  logger?: Logger;
  /** Cycles followed at once; past it the oldest unfinished one is dropped. Default 1000. */
  maxOpenCycles?: number;
  /** The times of {@link Tracing.spans}' spans when a caller gives none (the runtime Clock). Default the SDK's own clock. */
  clock?: Pick<Clock, 'now'>;
}

/** Running tracing, as {@link startTracing} returns it. */
export interface Tracing {
  readonly enabled: boolean;
  /** The hook plug-ins draw their own spans with (span-hook.ts); {@link NO_SPANS} when tracing is off. */
  readonly spans: SpanHook;
  /** Exports finished spans now. */
  forceFlush(): Promise<void>;
  /** Stops following the bus, exports what is left and shuts the exporter down. Idempotent. */
  shutdown(): Promise<void>;
}

/** What a `cycle.finished` payload may also carry: the time spent in each step (the cycle record's `steps`). */
type CycleSteps = { observeMs?: number; planMs?: number; actMs?: number };

interface ItemTrace {
  startedAt: number | null;
  retries: Array<{ at: number; attempt: number; delayMs: number; error: ErrorInfo }>;
}

interface CycleTrace {
  readonly trigger: string;
  readonly items: Map<string, ItemTrace>;
  readonly done: Array<{ key: string; at: number; data: FinishedItem }>;
}

type FinishedItem =
  | ({ outcome: 'succeeded' } & EventMap['item.succeeded'])
  | ({ outcome: 'failed' } & EventMap['item.failed'])
  | ({ outcome: 'skipped' } & EventMap['item.skipped']);

const DISABLED: Tracing = { enabled: false, spans: NO_SPANS, forceFlush: async () => {}, shutdown: async () => {} };

/**
 * OpenTelemetry traces built from the typed bus, so the core stays free of
 * OTel: one span per cycle (`cycle <loop>`) with children `observe`, `plan`,
 * `act`, and under `act` one `item` span per work item (retries as span
 * events). Spans are made when the cycle ends, with start and end times
 * taken from the events (the runtime Clock), so a virtual clock yields
 * virtual timestamps; the SDK itself still reads real time for anything we
 * do not give it (its own clock, which it needs for batching timers).
 * The provider is not registered globally.
 *
 * The `observe` and `plan` spans need the step durations on `cycle.finished`
 * (`steps: { observeMs, planMs, actMs }`); without them the `act` span is
 * drawn from the first item's start to the last item's end.
 *
 * @example
 * const tracing = startTracing(runtime.bus, { enabled: config.tracing.enabled, serviceName: config.tracing.serviceName, env: process.env });
 * // ... on stop:
 * await tracing.shutdown();
 */
export function startTracing(bus: EventBus, options: TracingOptions): Tracing {
  const env = options.env ?? {};
  if (!options.enabled || isTrue(env.OTEL_SDK_DISABLED) || env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') {
    return DISABLED;
  }
  const exporter = options.exporter ?? new OTLPTraceExporter();
  const processor =
    options.processor === 'simple' ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter);
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName ?? 'autoloop' }))
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  const tracer = provider.getTracer('autoloop');
  const builder = new CycleSpans(tracer, options.maxOpenCycles ?? 1000);
  const subscriptions = builder.follow(bus);
  const logger = options.logger ?? silentLogger;
  let stopping: Promise<void> | null = null;
  return {
    enabled: true,
    spans: spanHook(tracer, options.clock),
    forceFlush: () => provider.forceFlush(),
    shutdown() {
      stopping ??= (async () => {
        for (const subscription of subscriptions) subscription.dispose();
        await provider
          .shutdown()
          .catch((error: unknown) => logger.warn({ err: error }, 'trace export at shutdown failed'));
      })();
      return stopping;
    },
  };
}

/** Collects one cycle's events and turns them into spans when it ends. */
class CycleSpans {
  readonly #tracer: ReturnType<NodeTracerProvider['getTracer']>;
  readonly #max: number;
  readonly #cycles = new Map<string, CycleTrace>();

  constructor(tracer: ReturnType<NodeTracerProvider['getTracer']>, max: number) {
    this.#tracer = tracer;
    this.#max = max;
  }

  follow(bus: EventBus): Disposable[] {
    return [
      bus.on('cycle.started', (e) => this.#start(e)),
      bus.on('item.started', (e, at) => {
        const item = this.#item(e.cycleId, e.key);
        if (item && item.startedAt === null) item.startedAt = at;
      }),
      bus.on('item.retried', (e, at) => this.#item(e.cycleId, e.key)?.retries.push({ at, ...e })),
      bus.on('item.succeeded', (e, at) => this.#done(e.cycleId, e.key, at, { outcome: 'succeeded', ...e })),
      bus.on('item.failed', (e, at) => this.#done(e.cycleId, e.key, at, { outcome: 'failed', ...e })),
      bus.on('item.skipped', (e, at) => this.#done(e.cycleId, e.key, at, { outcome: 'skipped', ...e })),
      bus.on('cycle.finished', (e, at) => this.#finish(e, at)),
      bus.on('cycle.skipped', (e, at) => this.#skipped(e, at)),
    ];
  }

  #start(e: EventMap['cycle.started']): void {
    if (this.#cycles.size >= this.#max) {
      const oldest = this.#cycles.keys().next().value;
      if (oldest !== undefined) this.#cycles.delete(oldest);
    }
    this.#cycles.set(e.cycleId, { trigger: e.trigger, items: new Map(), done: [] });
  }

  #item(cycleId: string, key: string): ItemTrace | undefined {
    const cycle = this.#cycles.get(cycleId);
    if (!cycle) return undefined;
    let item = cycle.items.get(key);
    if (!item) {
      item = { startedAt: null, retries: [] };
      cycle.items.set(key, item);
    }
    return item;
  }

  #done(cycleId: string, key: string, at: number, data: FinishedItem): void {
    this.#cycles.get(cycleId)?.done.push({ key, at, data });
  }

  #skipped(e: EventMap['cycle.skipped'], at: number): void {
    const attributes = { 'autoloop.loop': e.loop, 'autoloop.tick': e.tickId, 'autoloop.outcome': 'skipped' };
    const span = this.#span(`cycle ${e.loop}`, at, { ...attributes, 'autoloop.skip.reason': e.reason });
    span.end(hr(at));
  }

  #finish(e: EventMap['cycle.finished'], at: number): void {
    const cycle = this.#cycles.get(e.cycleId);
    this.#cycles.delete(e.cycleId);
    const start = at - e.durationMs;
    const cycleSpan = this.#span(`cycle ${e.loop}`, start, {
      'autoloop.loop': e.loop,
      'autoloop.tick': e.tickId,
      'autoloop.cycle.id': e.cycleId,
      'autoloop.trigger': cycle?.trigger ?? 'unknown',
      'autoloop.outcome': e.outcome.kind,
      'autoloop.items.planned': e.counts.planned,
      'autoloop.items.succeeded': e.counts.succeeded,
      'autoloop.items.failed': e.counts.failed,
      'autoloop.items.skipped': e.counts.skipped,
    });
    const parent = trace.setSpan(ROOT_CONTEXT, cycleSpan);
    const failedStep = e.outcome.kind === 'failed' ? e.outcome.step : undefined;
    if (e.outcome.kind === 'failed') {
      cycleSpan.setAttribute('autoloop.failed_step', e.outcome.step);
      cycleSpan.setStatus({ code: SpanStatusCode.ERROR, message: e.outcome.error.message });
    }
    const steps = (e as { steps?: CycleSteps }).steps;
    const act = steps ? this.#stepSpans(steps, start, parent, failedStep) : this.#actFromItems(cycle, parent);
    const itemParent = act ? trace.setSpan(parent, act.span) : parent;
    for (const done of cycle?.done ?? []) this.#itemSpan(e.loop, done, cycle?.items.get(done.key), itemParent);
    act?.span.end(hr(act.end));
    cycleSpan.end(hr(at));
  }

  /** observe, plan and act spans laid end to end from the cycle's start; the act span is returned open. */
  #stepSpans(steps: CycleSteps, start: number, parent: typeof ROOT_CONTEXT, failedStep: string | undefined) {
    let t = start;
    for (const step of ['observe', 'plan'] as const) {
      const ms = steps[`${step}Ms`];
      if (ms === undefined) continue;
      const span = this.#span(step, t, {}, parent);
      if (failedStep === step) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end(hr(t + ms));
      t += ms;
    }
    if (steps.actMs === undefined) return undefined;
    const span = this.#span('act', t, {}, parent);
    if (failedStep === 'act') span.setStatus({ code: SpanStatusCode.ERROR });
    return { span, end: t + steps.actMs };
  }

  #actFromItems(cycle: CycleTrace | undefined, parent: typeof ROOT_CONTEXT) {
    if (!cycle || cycle.done.length === 0) return undefined;
    const start = Math.min(...cycle.done.map((d) => d.at - ('durationMs' in d.data ? d.data.durationMs : 0)));
    const end = Math.max(...cycle.done.map((d) => d.at));
    return { span: this.#span('act', start, {}, parent), end };
  }

  #itemSpan(
    loop: string,
    done: { key: string; at: number; data: FinishedItem },
    item: ItemTrace | undefined,
    parent: typeof ROOT_CONTEXT,
  ): void {
    const { data, at } = done;
    const durationMs = 'durationMs' in data ? data.durationMs : 0;
    const attributes = {
      'autoloop.loop': loop,
      'autoloop.item.key': done.key,
      'autoloop.item.outcome': data.outcome,
      'autoloop.item.attempts': 'attempts' in data ? data.attempts : 0,
    };
    const span = this.#span('item', at - durationMs, attributes, parent);
    for (const retry of item?.retries ?? []) {
      span.addEvent(
        'retry',
        {
          'autoloop.item.attempt': retry.attempt,
          'autoloop.retry.delay_ms': retry.delayMs,
          'exception.type': retry.error.name,
          'exception.message': retry.error.message,
        },
        hr(retry.at),
      );
    }
    if (data.outcome === 'failed') {
      span.setStatus({ code: SpanStatusCode.ERROR, message: data.error.message });
      span.setAttribute('exception.type', data.error.name);
    }
    if (data.outcome === 'skipped') span.setAttribute('autoloop.skip.reason', data.reason);
    span.end(hr(at));
  }

  #span(name: string, startMs: number, attributes: Attributes, parent = ROOT_CONTEXT): Span {
    return this.#tracer.startSpan(name, { kind: SpanKind.INTERNAL, startTime: hr(startMs), attributes }, parent);
  }
}

const spanOf = new WeakMap<HookSpan, Span>();

/** The {@link SpanHook} over `tracer`: spans with the given times (else `clock`'s, else the SDK's). */
function spanHook(tracer: ReturnType<NodeTracerProvider['getTracer']>, clock?: Pick<Clock, 'now'>): SpanHook {
  const time = (ms: number | undefined) => {
    const at = ms ?? clock?.now();
    return at === undefined ? undefined : hr(at);
  };
  return {
    enabled: true,
    start(name: string, options: SpanStart = {}): HookSpan {
      const parentSpan = options.parent && spanOf.get(options.parent);
      const parent = parentSpan ? trace.setSpan(ROOT_CONTEXT, parentSpan) : ROOT_CONTEXT;
      const span = tracer.startSpan(
        name,
        { kind: SpanKind.INTERNAL, startTime: time(options.startMs), attributes: defined(options.attributes) },
        parent,
      );
      const handle: HookSpan = {
        set: (attributes) => span.setAttributes(defined(attributes)),
        fail: (message) => span.setStatus({ code: SpanStatusCode.ERROR, message }),
        end: (atMs) => span.end(time(atMs)),
      };
      spanOf.set(handle, span);
      return handle;
    },
  };
}

function defined(attributes: SpanAttributes | undefined): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(attributes ?? {})) if (value !== undefined) out[key] = value as never;
  return out;
}

/** Epoch ms as OTel's [seconds, nanoseconds] (a plain number would be read as relative to the process start when it looks small). */
function hr(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

function isTrue(value: string | undefined): boolean {
  return value?.trim().toLowerCase() === 'true';
}
