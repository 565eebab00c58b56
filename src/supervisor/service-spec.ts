/**
 * A supervised service as the supervisor runs it (stage 3 of the config:
 * validated, defaults filled, every duration in ms, sizes in bytes, paths
 * absolute, frozen). `config/services-schema.ts` makes these from the
 * `services:` section; TypeScript users may build them with
 * {@link serviceSpec}.
 */
export interface ServiceSpec {
  /** The key under `services:`; used in events, metrics labels, store keys and the CLI. */
  readonly name: string;
  /** What is executed: `['/bin/sh', '-c', text]` for a shell string. */
  readonly argv: readonly string[];
  /** Working directory (absolute). */
  readonly cwd: string;
  /** Added to the daemon's environment (already `${VAR:-default}`-interpolated). */
  readonly env: Readonly<Record<string, string>>;
  /** Copies run side by side; each gets `AUTOLOOP_INSTANCE` = 0..n-1 in its environment. */
  readonly instances: number;
  /** Services that must be ready before this one starts (and stop after it). */
  readonly dependsOn: readonly string[];
  readonly restart: RestartSpec;
  /** Sent to the process group to stop it gracefully. */
  readonly stopSignal: NodeJS.Signals;
  /** After `stopSignal`, how long the group has before SIGKILL. */
  readonly killTimeoutMs: number;
  /** When the service counts as ready (dependents wait for it); null: as soon as it is spawned. */
  readonly ready: ReadySpec | null;
  /** The RSS limit of the process tree; null: not watched for memory. */
  readonly memory: MemorySpec | null;
  /** A CPU limit over a window (a warning, optionally a restart); null: CPU is only reported. */
  readonly cpu: CpuSpec | null;
  /** Free space of a path watched while the service runs; null: none. */
  readonly disk: DiskSpec | null;
  /** A periodic check; `failures` in a row restart the service. null: none. */
  readonly health: HealthSpec | null;
  /** stdout and stderr to a rotated file; null: to the daemon's log at debug level. */
  readonly logs: LogSpec | null;
  /** Hung when its output stays silent this long (then restarted); null: silence is fine. */
  readonly hang: HangSpec | null;
}

export interface HangSpec {
  /** No stdout or stderr for this long (from the spawn, or the last output) counts as hung. */
  readonly silentForMs: number;
}

export interface RestartSpec {
  /** `always`: every exit restarts; `on-failure`: exits other than code 0; `never`. */
  readonly policy: 'always' | 'on-failure' | 'never';
  /** Delay before restart n: initialMs × multiplier^(n-1), at most maxMs; n goes back to 1 after resetAfterMs up. */
  readonly backoff: {
    readonly initialMs: number;
    readonly multiplier: number;
    readonly maxMs: number;
    readonly resetAfterMs: number;
  };
  /**
   * More than `restarts` restarts within `windowMs` marks the service failing
   * (an event, an unhealthy component). `onLimit: 'retry'` keeps restarting at
   * the backoff's cap; `'stop'` leaves it stopped.
   */
  readonly limit: { readonly restarts: number; readonly windowMs: number; readonly onLimit: 'retry' | 'stop' };
}

export type ReadySpec = (
  | { readonly kind: 'port'; readonly host: string; readonly port: number }
  | { readonly kind: 'http'; readonly url: string }
  | { readonly kind: 'log'; readonly pattern: RegExp }
) & { readonly timeoutMs: number };

export interface MemorySpec {
  /** Absolute bytes, or a share of the machine's memory (`percent` of `os.totalmem()`). */
  readonly limit: { readonly bytes: number } | { readonly percent: number };
  /** Consecutive 1-second samples over the limit before the graceful restart. */
  readonly samples: number;
}

export interface CpuSpec {
  /** Percent of one core (100 = one core busy) the tree's average over the window may reach. */
  readonly percent: number;
  readonly windowMs: number;
  /** Also restart the service (gracefully) when the average goes over. */
  readonly restart: boolean;
}

/** A free-space threshold: absolute bytes, or a percent of the filesystem's size. */
export type DiskThreshold = { readonly bytes: number } | { readonly percent: number };

export interface DiskSpec {
  /** A path on the filesystem to watch (absolute). */
  readonly path: string;
  /** Free space below this: a warning. */
  readonly warnBelow: DiskThreshold | null;
  /** Free space below this: critical (the service's health component turns unhealthy). */
  readonly criticalBelow: DiskThreshold | null;
}

export type HealthSpec = (
  | { readonly kind: 'http'; readonly url: string }
  | { readonly kind: 'command'; readonly command: string }
) & {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Failed checks in a row that restart the service. */
  readonly failures: number;
  /** Checks begin this long after the service started (or became ready). */
  readonly startPeriodMs: number;
};

export interface LogSpec {
  /** The file (absolute); instance i > 0 writes `<name>-<i>.log` beside it. */
  readonly file: string;
  /** Rotate past this size (rotating-file-stream's grammar: `10M`). */
  readonly size: string;
  /** Rotated files kept. */
  readonly keep: number;
  /** Also rotate by age (rotating-file-stream's grammar: `1d`, `12h`); null: by size only. */
  readonly interval?: string | null;
}

/** The defaults of seed 003's supervisor, as issue 15 fixes them. */
export const SERVICE_DEFAULTS = Object.freeze({
  backoff: Object.freeze({ initialMs: 100, multiplier: 2, maxMs: 30_000, resetAfterMs: 60_000 }),
  limit: Object.freeze({ restarts: 5, windowMs: 60_000, onLimit: 'retry' as const }),
  stopSignal: 'SIGTERM' as NodeJS.Signals,
  killTimeoutMs: 10_000,
  readyTimeoutMs: 60_000,
  memorySamples: 2,
  cpuWindowMs: 60_000,
  health: Object.freeze({ intervalMs: 30_000, timeoutMs: 5_000, failures: 3, startPeriodMs: 0 }),
});

/**
 * A spec with the defaults filled, for TypeScript callers and tests.
 *
 * @example
 * const api = serviceSpec({ name: 'api', argv: ['node', 'server.js'], memory: { limit: { bytes: 512e6 }, samples: 2 } });
 */
export function serviceSpec(input: Partial<ServiceSpec> & Pick<ServiceSpec, 'name' | 'argv'>): ServiceSpec {
  return Object.freeze({
    cwd: process.cwd(),
    env: {},
    instances: 1,
    dependsOn: [],
    restart: { policy: 'always' as const, backoff: SERVICE_DEFAULTS.backoff, limit: SERVICE_DEFAULTS.limit },
    stopSignal: SERVICE_DEFAULTS.stopSignal,
    killTimeoutMs: SERVICE_DEFAULTS.killTimeoutMs,
    ready: null,
    memory: null,
    cpu: null,
    disk: null,
    health: null,
    logs: null,
    hang: null,
    ...input,
  });
}
