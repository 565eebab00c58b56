/**
 * Supervised services in a simulation: no process is started, each copy of
 * each `services:` entry is a small model driven by the supervisor's own
 * restart policy ({@link RestartSchedule}, the same code `autoloop start`
 * uses), so a month of crashes and leaks shows its restarts and time down.
 *
 * States of a copy: up -> down (crashed, OOM-killed, or stopped by the
 * memory watch) -> up again after the restart delay plus {@link STARTUP_MS}
 * | stopped for good (policy `never`, or `onLimit: stop` over the limit).
 *
 * - crash: the process exits with code 1; the schedule's backoff decides
 *   the delay.
 * - leak: from the fault on, its RSS grows by `perMinute` from
 *   {@link BASE_RSS}. With `limits.memory`, the memory watch sees it over
 *   the limit for `samples` seconds and restarts it at once (a requested
 *   restart); without, the kernel's OOM killer ends it (SIGKILL) when it
 *   reaches {@link MACHINE_MEMORY} and the policy decides. A restart ends
 *   the leak (a new process).
 */

import { RestartSchedule } from '../supervisor/restart-schedule.ts';
import type { ServiceSpec } from '../supervisor/service-spec.ts';
import { memoryLimitBytes } from '../supervisor/supervisor.ts';

/** A restarted process's time from spawn to serving (the model has no readiness probe to wait on). */
export const STARTUP_MS = 1_000;
/** RSS of a fresh process. */
export const BASE_RSS = 100 * 1024 ** 2;
/** The simulated machine's memory: `limits.memory` percentages are of this, and the OOM killer acts at it. */
export const MACHINE_MEMORY = 8 * 1024 ** 3;

/** Per service (all its copies): what the report shows. */
export interface ServiceReport {
  readonly service: string;
  readonly copies: number;
  readonly crashes: number;
  readonly leaks: number;
  /** Restarts by the memory watch (over `limits.memory`). */
  readonly memoryRestarts: number;
  /** Ended by the OOM killer (a leak with no memory limit). */
  readonly oomKills: number;
  readonly restarts: number;
  /** Time down, summed over copies (from the exit to serving again, or to the end). */
  readonly downMs: number;
  /** Copies stopped for good at the end (policy `never`, or over the restart limit with `onLimit: stop`). */
  readonly stopped: number;
}

interface Copy {
  readonly spec: ServiceSpec;
  readonly schedule: RestartSchedule;
  /** Bumped on every exit: a leak's timer from an earlier process does nothing. */
  generation: number;
  up: boolean;
  stopped: boolean;
  startedAt: number;
  downSince: number;
}

interface Counts {
  crashes: number;
  leaks: number;
  memoryRestarts: number;
  oomKills: number;
  downMs: number;
}

export interface ServiceModelOptions {
  readonly services: readonly ServiceSpec[];
  readonly now: () => number;
  readonly setTimer: (ms: number, fire: () => void) => void;
  /** Picks victims; its own seeded stream. */
  readonly random: () => number;
}

export class ServiceModel {
  readonly #o: ServiceModelOptions;
  readonly #copies: Copy[] = [];
  readonly #counts = new Map<string, Counts>();

  constructor(options: ServiceModelOptions) {
    this.#o = options;
    const now = options.now();
    for (const spec of options.services) {
      this.#counts.set(spec.name, { crashes: 0, leaks: 0, memoryRestarts: 0, oomKills: 0, downMs: 0 });
      for (let i = 0; i < spec.instances; i++) {
        const schedule = new RestartSchedule(spec.restart);
        this.#copies.push({ spec, schedule, generation: 0, up: true, stopped: false, startedAt: now, downSince: 0 });
      }
    }
  }

  get empty(): boolean {
    return this.#copies.length === 0;
  }

  /** A copy of `target` (or of any service) crashes. Returns the timeline's text. */
  crash(target: string | null): string {
    const copy = this.#pick(target);
    if (!copy) return `no running copy of ${target ?? 'any service'} to crash`;
    this.#counts.get(copy.spec.name)!.crashes++;
    return `${label(copy, this.#copies)} crashed (exit code 1); ${this.#exit(copy, 1, null)}`;
  }

  /** A copy of `target` (or of any service) starts leaking `perMinute` bytes. Returns the timeline's text. */
  leak(target: string | null, perMinute: number): string {
    const copy = this.#pick(target);
    if (!copy) return `no running copy of ${target ?? 'any service'} to leak`;
    this.#counts.get(copy.spec.name)!.leaks++;
    const generation = copy.generation;
    const limit = copy.spec.memory ? memoryLimitBytes(copy.spec.memory, MACHINE_MEMORY) : null;
    const ceiling = limit ?? MACHINE_MEMORY;
    const untilMs = Math.max(0, Math.ceil(((ceiling - BASE_RSS) / perMinute) * 60_000));
    const name = label(copy, this.#copies);
    const rate = `${Math.round(perMinute / 1024 ** 2)} MiB/min`;
    if (limit !== null) {
      const watchMs = untilMs + (copy.spec.memory?.samples ?? 1) * 1_000;
      this.#o.setTimer(watchMs, () => {
        if (copy.generation !== generation || !copy.up) return;
        this.#counts.get(copy.spec.name)!.memoryRestarts++;
        this.#exit(copy, null, 'memory limit');
      });
      return `${name} leaks ${rate}: over its memory limit in ${minutes(untilMs)}, then restarted by the memory watch`;
    }
    this.#o.setTimer(untilMs, () => {
      if (copy.generation !== generation || !copy.up) return;
      this.#counts.get(copy.spec.name)!.oomKills++;
      this.#exit(copy, null, null);
    });
    return `${name} leaks ${rate} with no memory limit: OOM-killed in ${minutes(untilMs)}`;
  }

  /** Per service, with time down counted up to now. */
  report(): ServiceReport[] {
    const now = this.#o.now();
    return [...this.#counts].map(([service, c]) => {
      const copies = this.#copies.filter((x) => x.spec.name === service);
      const openDown = copies.reduce((ms, x) => ms + (x.up ? 0 : now - x.downSince), 0);
      return {
        service,
        copies: copies.length,
        crashes: c.crashes,
        leaks: c.leaks,
        memoryRestarts: c.memoryRestarts,
        oomKills: c.oomKills,
        restarts: copies.reduce((n, x) => n + x.schedule.restarts, 0),
        downMs: c.downMs + openDown,
        stopped: copies.filter((x) => x.stopped).length,
      };
    });
  }

  /** The process ended (`code` null: a signal); the schedule decides what follows. Returns what it decided. */
  #exit(copy: Copy, code: number | null, requested: string | null): string {
    const now = this.#o.now();
    copy.generation++;
    copy.up = false;
    copy.downSince = now;
    const decision = copy.schedule.onExit({ code, upMs: now - copy.startedAt, at: now, requested });
    if (decision.kind === 'stop') {
      copy.stopped = true;
      return `stopped for good (${decision.reason})`;
    }
    const generation = copy.generation;
    this.#o.setTimer(decision.delayMs + STARTUP_MS, () => {
      if (copy.generation !== generation) return;
      const back = this.#o.now();
      copy.up = true;
      copy.startedAt = back;
      this.#counts.get(copy.spec.name)!.downMs += back - copy.downSince;
    });
    return `restarts after ${decision.delayMs} ms (+ ${STARTUP_MS} ms to start)`;
  }

  #pick(target: string | null): Copy | undefined {
    const candidates = this.#copies.filter((c) => c.up && (target === null || c.spec.name === target));
    return candidates[Math.floor(this.#o.random() * candidates.length)];
  }
}

function label(copy: Copy, all: readonly Copy[]): string {
  if (copy.spec.instances === 1) return `service ${copy.spec.name}`;
  const index = all.filter((c) => c.spec.name === copy.spec.name).indexOf(copy);
  return `service ${copy.spec.name}[${index}]`;
}

function minutes(ms: number): string {
  return ms < 60_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}
