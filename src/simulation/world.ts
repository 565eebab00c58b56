/**
 * The outside world of a simulation: one act model per loop (latency,
 * failures, 429 bursts, output) in place of the loop's real act, and the
 * dependency faults in force. A simulation must not call the real LLM or
 * the real scrapers; a loop marked `real: true` runs its own act.
 */
import type { ActModelSpec, LatencySpec, ResolvedSimulateConfig } from '../config/simulate-schema.ts';
import type { ItemContext, ResolvedLoop } from '../core/loop.ts';
import { abortReason } from '../time/clock.ts';
import { exponentialGap, inRange, sampleLatency } from './distribution.ts';
import type { HistoryModel } from './history-models.ts';
import type { Ledger } from './ledger.ts';

/** Neutral defaults: a quick, reliable dependency (the report says which loops got them). */
export const DEFAULT_LATENCY: LatencySpec = { kind: 'lognormal', p50Ms: 100, p99Ms: 1_000 };

/**
 * Why a model's call failed: the act's error in the item results. It has no
 * stack (a model's failure happened nowhere in the code, and capturing one
 * cost more than the rest of a simulated act).
 */
export class SimulatedFailure extends Error {
  override readonly name: string;

  constructor(message: string, name = 'SimulatedFailure') {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(message);
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.name = name;
  }
}

/** Where a loop's model came from, for the report. */
export interface ModelInfo {
  readonly loop: string;
  readonly source: 'config' | 'dependency' | 'history' | 'default' | 'real';
  /** e.g. "latency p50 300 ms / p99 1400 ms, 5% failures, 429 bursts every 6 h". */
  readonly summary: string;
}

interface Degradation {
  readonly target: string | null;
  readonly until: number;
  readonly slowdown: number;
  readonly failureRate: number;
}

interface LoopModel {
  readonly spec: ActModelSpec;
  readonly latency: LatencySpec;
  /** 429 windows [start, end) in absolute ms, ascending. */
  readonly bursts: Array<[number, number]>;
  readonly uses: readonly string[];
}

export class World {
  readonly models: readonly ModelInfo[];
  readonly #loops = new Map<string, LoopModel>();
  readonly #ledger: Ledger;
  readonly #random: () => number;
  readonly #now: () => number;
  #degradations: Degradation[] = [];

  constructor(options: {
    loops: readonly ResolvedLoop[];
    simulate: ResolvedSimulateConfig | null;
    ledger: Ledger;
    random: () => number;
    now: () => number;
    /** Bursts are drawn up to this absolute time. */
    untilMs: number;
    /** Models from the store's recent cycles, for loops the config gives none (history-models.ts). */
    history?: ReadonlyMap<string, HistoryModel>;
  }) {
    this.#ledger = options.ledger;
    this.#random = options.random;
    this.#now = options.now;
    const infos: ModelInfo[] = [];
    for (const loop of options.loops) {
      const own = options.simulate?.loops[loop.name];
      const dep = loop.policies.uses.map((name) => options.simulate?.dependencies[name]).find((s) => s !== undefined);
      const past = own || dep ? undefined : options.history?.get(loop.name);
      const spec: ActModelSpec = own ?? dep ?? (past ? { latency: past.latency, failureRate: past.failureRate } : {});
      const source = spec.real ? 'real' : own ? 'config' : dep ? 'dependency' : past ? 'history' : 'default';
      const latency = spec.latency ?? DEFAULT_LATENCY;
      const bursts = spec.throttle ? drawBursts(spec.throttle, options.now(), options.untilMs, this.#random) : [];
      this.#loops.set(loop.name, { spec, latency, bursts, uses: loop.policies.uses });
      const summary = source === 'real' ? 'its own act' : describe(spec, latency) + (past ? historyNote(past) : '');
      infos.push({ loop: loop.name, source, summary });
    }
    this.models = infos;
  }

  /** A dependency fault: calls of the target (a loop, a dependency, or every loop) slow down and fail. */
  degrade(target: string | null, forMs: number, slowdown: number, failureRate: number): void {
    const now = this.#now();
    this.#degradations = this.#degradations.filter((d) => d.until > now);
    this.#degradations.push({ target, until: now + forMs, slowdown, failureRate });
  }

  /** `loop` with its act replaced by its model (or its own act, counted, when marked real). */
  simulated(loop: ResolvedLoop): ResolvedLoop {
    const model = this.#loops.get(loop.name);
    if (!model) return loop;
    const ledger = this.#ledger;
    if (model.spec.real) {
      return {
        ...loop,
        act: async (item, ctx) => {
          ledger.actStarted(loop.name, item.idempotencyKey);
          const output = await loop.act(item, ctx);
          ledger.actSucceeded(loop.name, item.idempotencyKey);
          return output;
        },
      };
    }
    return {
      ...loop,
      act: async (item, ctx) => {
        ledger.actStarted(loop.name, item.idempotencyKey);
        const { slowdown, failureRate } = this.#degradation(loop.name, model.uses);
        await modelLatency(ctx, Math.round(sampleLatency(model.latency, this.#random) * slowdown));
        const now = this.#now();
        const throttle = model.spec.throttle;
        if (throttle && inBurst(model.bursts, now) && this.#random() < throttle.rate) {
          throw new SimulatedFailure('429 Too Many Requests (simulated burst)', 'RateLimited');
        }
        if ((model.spec.failureRate ?? 0) > 0 && this.#random() < (model.spec.failureRate ?? 0)) {
          throw new SimulatedFailure(`simulated failure of ${loop.name} ${item.key}`);
        }
        if (failureRate > 0 && this.#random() < failureRate) {
          throw new SimulatedFailure(`injected dependency fault (${loop.name} ${item.key})`, 'InjectedFault');
        }
        ledger.actSucceeded(loop.name, item.idempotencyKey);
        return model.spec.output === undefined ? { simulated: true } : structuredClone(model.spec.output);
      },
    };
  }

  #degradation(loop: string, uses: readonly string[]): { slowdown: number; failureRate: number } {
    const now = this.#now();
    let slowdown = 1;
    let failureRate = 0;
    for (const d of this.#degradations) {
      if (d.until <= now) continue;
      if (d.target !== null && d.target !== loop && !uses.includes(d.target)) continue;
      slowdown = Math.max(slowdown, d.slowdown);
      failureRate = Math.max(failureRate, d.failureRate);
    }
    return { slowdown, failureRate };
  }
}

/**
 * The model's call takes `ms`: a plain timer, not a sleep under the attempt's
 * signal (an abort listener added and removed per act cost ~3% of a run).
 * The attempt settles on its own when it is aborted (execution/attempt.ts);
 * the model only has to end without drawing or booking anything, so the
 * timer looks at the signal when it fires: aborted by then, the call fails
 * with its reason then (the sleep failed at the abort; nobody waits for it).
 */
function modelLatency(ctx: ItemContext, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    ctx.clock.setTimer(ms, () => {
      const signal = ctx.signal;
      if (signal.aborted) reject(abortReason(signal));
      else resolve();
    });
  });
}

function drawBursts(
  throttle: NonNullable<ActModelSpec['throttle']>,
  from: number,
  until: number,
  random: () => number,
): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let t = from + exponentialGap(throttle.every, random); t < until; t += exponentialGap(throttle.every, random)) {
    const end = t + inRange(throttle.for, random);
    out.push([t, end]);
    t = end;
  }
  return out;
}

/** Whether `now` falls in one of the ascending windows (binary search). */
function inBurst(bursts: Array<[number, number]>, now: number): boolean {
  let lo = 0;
  let hi = bursts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [start, end] = bursts[mid] as [number, number];
    if (now < start) hi = mid - 1;
    else if (now >= end) lo = mid + 1;
    else return true;
  }
  return false;
}

function describe(spec: ActModelSpec, latency: LatencySpec): string {
  const parts = [latencyText(latency)];
  if (spec.failureRate) parts.push(`${+(spec.failureRate * 100).toFixed(2)}% failures`);
  if (spec.throttle) parts.push(`429 bursts every ${spec.throttle.every / 60_000} min on average`);
  return parts.join(', ');
}

function historyNote(past: HistoryModel): string {
  const newest = new Date(past.newestAt).toISOString();
  return `, from ${past.cycles} cycles (${past.results} item results) up to ${newest}`;
}

function latencyText(l: LatencySpec): string {
  if (l.kind === 'fixed') return `latency ${l.ms} ms`;
  if (l.kind === 'uniform') return `latency ${l.minMs}-${l.maxMs} ms`;
  return `latency p50 ${l.p50Ms} ms / p99 ${l.p99Ms} ms`;
}
