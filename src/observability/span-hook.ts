/**
 * The span hook a plug-in (a recipe) draws its own OpenTelemetry spans
 * with, beside the cycle spans tracing.ts builds from the bus. This file
 * imports no OpenTelemetry package: with tracing off the hook is
 * {@link NO_SPANS}, whose spans are one shared object that does nothing, so
 * a recipe pays a property read per span (and can test `enabled` before
 * computing costly attributes). With tracing on, tracing.ts gives the real
 * one ({@link Tracing.spans}).
 */

/** Attribute values as OpenTelemetry takes them. */
export type SpanValue = string | number | boolean | readonly string[] | readonly number[] | readonly boolean[];
export type SpanAttributes = Readonly<Record<string, SpanValue | undefined>>;

/** One open span. */
export interface HookSpan {
  /** Adds or overwrites attributes. */
  set(attributes: SpanAttributes): void;
  /** Marks the span failed (OTel status ERROR) with `message`. */
  fail(message: string): void;
  /** Ends the span, at `atMs` (epoch ms) or now on the hook's clock. Later calls are ignored. */
  end(atMs?: number): void;
}

export interface SpanStart {
  readonly attributes?: SpanAttributes;
  /** The span this one is a child of; a root span without. */
  readonly parent?: HookSpan;
  /** Epoch ms; default now on the hook's clock (the runtime Clock, so a virtual clock gives virtual times). */
  readonly startMs?: number;
}

/** Starts spans; see the file header. */
export interface SpanHook {
  /** False when tracing is off: spans are then no-ops, and a caller may skip building attributes. */
  readonly enabled: boolean;
  start(name: string, options?: SpanStart): HookSpan;
}

const NO_SPAN: HookSpan = { set: () => {}, fail: () => {}, end: () => {} };

/** The hook when tracing is off: every span is the same no-op object. */
export const NO_SPANS: SpanHook = { enabled: false, start: () => NO_SPAN };

/**
 * A hook that asks `current()` at every call: for parts started before
 * tracing is (recipes start before the observers), so their spans go to
 * tracing once it runs and nowhere before.
 */
export function lateSpanHook(current: () => SpanHook | null | undefined): SpanHook {
  return {
    get enabled() {
      return current()?.enabled ?? false;
    },
    start: (name, options) => (current() ?? NO_SPANS).start(name, options),
  };
}
