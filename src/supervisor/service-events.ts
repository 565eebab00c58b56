/**
 * The supervisor's events, added to the typed {@link EventMap} by
 * declaration merging: the event log records them, `/events` streams them,
 * webhooks receive the ones a target lists (e.g. `service.failing`).
 * Every payload names the service and the instance (0..instances-1).
 */
declare module '../observability/events.ts' {
  interface EventMap {
    'service.started': { service: string; instance: number; pid: number; restarts: number };
    'service.ready': { service: string; instance: number; pid: number; afterMs: number };
    /** Its `ready:` check did not pass within `ready.timeout`: it is restarted, and its dependents keep waiting. */
    'service.not_ready': { service: string; instance: number; pid: number; timeoutMs: number };
    /** Held back (nothing spawned) until every instance of the services it `dependsOn` was ready. */
    'service.waiting': { service: string; instance: number; dependsOn: string[] };
    'service.exited': {
      service: string;
      instance: number;
      pid: number;
      code: number | null;
      signal: string | null;
      upMs: number;
      /** Why the supervisor stopped it, or null when it exited on its own. */
      reason: string | null;
    };
    'service.restarting': { service: string; instance: number; delayMs: number; attempt: number; reason: string };
    'service.stopped': { service: string; instance: number; reason: string };
    'service.memory_limit': {
      service: string;
      instance: number;
      pid: number;
      rssBytes: number;
      limitBytes: number;
      samples: number;
    };
    /** No output for `hang.silentFor`: it is restarted. */
    'service.hung': { service: string; instance: number; pid: number; silentMs: number };
    /** The tree's CPU averaged over `limits.cpu.window` went above `limits.cpu.percent` (of one core). Once per excursion. */
    'service.cpu_high': {
      service: string;
      instance: number;
      pid: number;
      percent: number;
      limitPercent: number;
      windowMs: number;
      /** Whether the service is restarted for it (`limits.cpu.restart`). */
      restart: boolean;
    };
    /** Free space of the watched path fell below `disk.warnBelow` (warning) or `disk.criticalBelow` (critical). */
    'service.disk_low': {
      service: string;
      path: string;
      level: 'warning' | 'critical';
      freeBytes: number;
      totalBytes: number;
      thresholdBytes: number;
    };
    /** Free space of the watched path is back above its thresholds. */
    'service.disk_ok': { service: string; path: string; freeBytes: number; totalBytes: number };
    'service.health_failed': { service: string; instance: number; failures: number; threshold: number; detail: string };
    'service.failing': { service: string; instance: number; restarts: number; windowMs: number };
    'service.recovered': { service: string; instance: number };
    /** A process group recorded by a supervisor that died without stopping it, found and stopped at start. */
    'service.orphan_stopped': { service: string; instance: number; pgid: number; killed: boolean };
  }
}

/** Every service event name, for webhook `events:` lists and docs. */
export const SERVICE_EVENT_NAMES = [
  'service.started',
  'service.ready',
  'service.not_ready',
  'service.waiting',
  'service.exited',
  'service.restarting',
  'service.stopped',
  'service.memory_limit',
  'service.hung',
  'service.cpu_high',
  'service.disk_low',
  'service.disk_ok',
  'service.health_failed',
  'service.failing',
  'service.recovered',
  'service.orphan_stopped',
] as const;
