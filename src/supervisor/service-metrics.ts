import { Counter, Gauge, type Registry } from 'prom-client';
import type { Disposable, EventBus } from '../observability/events.ts';
import type { InstanceStatus } from './service-instance.ts';
import type { DiskStatus } from './supervisor.ts';

const LABELS = ['service', 'instance'] as const;

/** Every series name this module registers. */
export const METRIC_NAMES = [
  'autoloop_service_up',
  'autoloop_service_memory_bytes',
  'autoloop_service_start_time_seconds',
  'autoloop_service_failing',
  'autoloop_service_cpu_seconds_total',
  'autoloop_service_restarts_total',
  'autoloop_service_cpu_percent',
  'autoloop_service_cpu_warnings_total',
  'autoloop_service_disk_free_bytes',
  'autoloop_service_disk_level',
] as const;

const DISK_LEVELS = { ok: 0, warning: 1, critical: 2 } as const;

/**
 * Per service instance, on the runtime's registry (labels `service`,
 * `instance`): `autoloop_service_up` (1 while running and ready),
 * `autoloop_service_restarts_total`, `autoloop_service_memory_bytes` (RSS of
 * the process tree, last sample), `autoloop_service_cpu_seconds_total` (CPU
 * of the current run's tree; resets on restart, as counters may),
 * `autoloop_service_start_time_seconds` (epoch seconds of the current run)
 * and `autoloop_service_failing` (1 while over its restart limit). With
 * `limits.cpu`: `autoloop_service_cpu_percent` (the window's average, percent
 * of one core) and `autoloop_service_cpu_warnings_total`. With `disk:`
 * (labels `service`, `path`): `autoloop_service_disk_free_bytes` and
 * `autoloop_service_disk_level` (0 ok, 1 warning, 2 critical). Gauges are
 * read at scrape time from the supervisor's status; restarts and CPU
 * warnings are counted from the bus.
 */
export function registerServiceMetrics(
  registry: Registry,
  bus: EventBus,
  status: () => readonly InstanceStatus[],
  disks: () => readonly DiskStatus[] = () => [],
): Disposable {
  const labels = (s: InstanceStatus) => ({ service: s.service, instance: String(s.instance) });
  void [
    new Gauge({
      name: 'autoloop_service_up',
      help: 'Whether the service instance is running and ready (1) or not (0).',
      labelNames: LABELS,
      registers: [registry],
      collect() {
        this.reset(); // an instance scaled away leaves no series behind
        for (const s of status()) this.set(labels(s), s.state === 'running' ? 1 : 0);
      },
    }),
    new Gauge({
      name: 'autoloop_service_memory_bytes',
      help: 'Resident memory of the service instance process tree (last 1 s sample).',
      labelNames: LABELS,
      registers: [registry],
      collect() {
        this.reset();
        for (const s of status()) this.set(labels(s), s.rssBytes ?? 0);
      },
    }),
    new Gauge({
      name: 'autoloop_service_start_time_seconds',
      help: 'Start time of the running process of the service instance, epoch seconds (0 while not running).',
      labelNames: LABELS,
      registers: [registry],
      collect() {
        this.reset();
        for (const s of status()) this.set(labels(s), s.startedAt ? Date.parse(s.startedAt) / 1000 : 0);
      },
    }),
    new Gauge({
      name: 'autoloop_service_failing',
      help: 'Whether the service instance went over its restart limit and has not run for resetAfter since (1) or not (0).',
      labelNames: LABELS,
      registers: [registry],
      collect() {
        this.reset();
        for (const s of status()) this.set(labels(s), s.failing ? 1 : 0);
      },
    }),
  ];
  new Counter({
    name: 'autoloop_service_cpu_seconds_total',
    help: 'CPU seconds (user + system) of the current run of the service instance process tree; resets on restart.',
    labelNames: LABELS,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of status()) this.inc(labels(s), s.cpuSeconds ?? 0);
    },
  });
  new Gauge({
    name: 'autoloop_service_cpu_percent',
    help: 'CPU of the service instance process tree averaged over limits.cpu.window, percent of one core.',
    labelNames: LABELS,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of status()) if (s.cpuPercent !== null) this.set(labels(s), s.cpuPercent);
    },
  });
  const diskLabels = (d: DiskStatus) => ({ service: d.service, path: d.path });
  new Gauge({
    name: 'autoloop_service_disk_free_bytes',
    help: 'Free space (for unprivileged use) of the filesystem holding the service disk.path.',
    labelNames: ['service', 'path'],
    registers: [registry],
    collect() {
      this.reset();
      for (const d of disks()) if (d.freeBytes !== null) this.set(diskLabels(d), d.freeBytes);
    },
  });
  new Gauge({
    name: 'autoloop_service_disk_level',
    help: 'Free space of the service disk.path: 0 ok, 1 below warnBelow, 2 below criticalBelow.',
    labelNames: ['service', 'path'],
    registers: [registry],
    collect() {
      this.reset();
      for (const d of disks()) this.set(diskLabels(d), DISK_LEVELS[d.level]);
    },
  });
  const cpuWarnings = new Counter({
    name: 'autoloop_service_cpu_warnings_total',
    help: 'Times the CPU of the service instance averaged over limits.cpu.window went above limits.cpu.percent.',
    labelNames: LABELS,
    registers: [registry],
  });
  const restarts = new Counter({
    name: 'autoloop_service_restarts_total',
    help: 'Restarts of the service instance since this supervisor started (crashes, memory, health, operators).',
    labelNames: LABELS,
    registers: [registry],
  });
  for (const s of status()) restarts.inc(labels(s), 0);
  const subscriptions = [
    bus.on('service.restarting', (e) => restarts.inc({ service: e.service, instance: String(e.instance) })),
    bus.on('service.cpu_high', (e) => cpuWarnings.inc({ service: e.service, instance: String(e.instance) })),
  ];
  return {
    dispose() {
      for (const subscription of subscriptions) subscription.dispose();
      for (const name of METRIC_NAMES) registry.removeSingleMetric(name);
    },
  };
}
