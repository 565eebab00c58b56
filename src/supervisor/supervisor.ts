import { hostname, totalmem } from 'node:os';
import type { Registry } from 'prom-client';
import { AutoloopError } from '../core/errors.ts';
import { type Logger, silentLogger } from '../core/logger.ts';
import type { AdminActionGroup } from '../http/admin-actions.ts';
import type { Runnable } from '../lifecycle/runnable.ts';
import type { Disposable, EventBus } from '../observability/events.ts';
import type { ComponentHealth, HealthCheck } from '../runtime/health.ts';
import type { ServiceControl } from '../runtime/service-control.ts';
import type { Store } from '../storage/store.ts';
import type { Clock } from '../time/clock.ts';
import { systemClock } from '../time/system-clock.ts';
import { type DiskLevel, DiskWatch, diskSpace } from './disk-watch.ts';
import { stopOrphans } from './orphans.ts';
import { readProcessTable, treeUsage } from './process-table.ts';
import { type DependencyGate, type InstanceStatus, ServiceInstance } from './service-instance.ts';
import { type InstanceRecord, RecordWriter, recordKey, SERVICES_NAMESPACE } from './service-record.ts';
import type { MemorySpec, ServiceSpec } from './service-spec.ts';

/** What the supervisor borrows from the runtime it runs in, read once its runnables start. */
export interface SupervisorHost {
  /** The store (service state under namespace `services`). */
  store(): Store;
  readonly bus: EventBus;
  /** The runtime's Prometheus registry, when it has one. */
  registry(): Registry | null | undefined;
}

export interface SupervisorOptions {
  readonly services: readonly ServiceSpec[];
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** The environment services inherit. Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Names this machine in the store's records. Default `os.hostname()`. */
  readonly host?: string;
  /** How often the process trees are sampled (memory watch, status). Default 1 s. */
  readonly sampleIntervalMs?: number;
  /** For `limits.memory` given as a percent. Default `os.totalmem()`. */
  readonly totalMemoryBytes?: number;
}

/** `/status`'s `services` and `autoloop services --json`. */
export interface ServicesStatus {
  readonly host: string;
  readonly instances: readonly InstanceStatus[];
  /** One row per service with `disk:`. */
  readonly disks: readonly DiskStatus[];
}

/** The watched path of a service's `disk:` as last read. */
export interface DiskStatus {
  readonly service: string;
  readonly path: string;
  readonly level: DiskLevel;
  /** Null before the first reading, or while the path cannot be read. */
  readonly freeBytes: number | null;
  readonly totalBytes: number | null;
}

/** What instances built after start need: the host's bus and the record writer. */
interface InstanceBuilder {
  readonly host: SupervisorHost;
  readonly writer: RecordWriter;
}

/**
 * Seed 003's process supervisor: keeps each service's instances running
 * (restart with backoff and limits, memory watch, health checks, readiness
 * before dependents), records them in the store, and on start stops the
 * process groups a killed predecessor left behind.
 *
 * It plugs into a runtime as runnables (`RuntimeOptions.runnables`):
 * `supervisor` (orphans, sampler, metrics) and one `service:<name>` per
 * service, each after the services it `dependsOn`; the runtime starts them
 * after its HTTP server and before the loops, and stops them after the
 * loops drained, in reverse. A service's start resolves when every instance
 * is ready (or its `ready.timeout` passed: logged, and it is restarted). A
 * service spawns nothing until every instance of the services it
 * `dependsOn` was ready (state `waiting`), however long that takes.
 *
 * @example
 * const supervisor = new Supervisor({ services: config.services, logger });
 * const runtime = createRuntime({ loops, runnables: (host) => supervisor.runnables(host),
 *   healthChecks: supervisor.healthChecks(), status: { services: () => supervisor.status() } });
 */
export class Supervisor {
  readonly #specs: ReadonlyMap<string, ServiceSpec>;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #env: NodeJS.ProcessEnv;
  readonly #host: string;
  readonly #sampleMs: number;
  readonly #totalMemory: number;
  readonly #instances = new Map<string, ServiceInstance[]>();
  readonly #disks = new Map<string, DiskWatch>();
  /** Disk read errors already logged, by service (one warning per distinct message). */
  readonly #diskErrors = new Map<string, string>();
  /** Each running instance's own stop (linked to its service's) and its run, for scaling down. */
  readonly #runs = new Map<ServiceInstance, { readonly abort: AbortController; readonly done: Promise<void> }>();
  /** What a started service needs to add instances: its stop signal and gate. */
  readonly #started = new Map<string, { readonly signal: AbortSignal; readonly gate: DependencyGate }>();
  /** Set when the `supervisor` runnable starts: what new instances are built with. */
  #builder: InstanceBuilder | null = null;
  /** Scales of one service, one after another. */
  readonly #scaling = new Map<string, Promise<void>>();

  constructor(options: SupervisorOptions) {
    this.#specs = new Map(options.services.map((s) => [s.name, s]));
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
    this.#env = options.env ?? process.env;
    this.#host = options.host ?? hostname();
    this.#sampleMs = options.sampleIntervalMs ?? 1_000;
    this.#totalMemory = options.totalMemoryBytes ?? totalmem();
    for (const spec of options.services) if (spec.disk) this.#disks.set(spec.name, new DiskWatch(spec.disk));
  }

  /** Service names in config order. */
  get names(): string[] {
    return [...this.#specs.keys()];
  }

  /** The runnables to hand the runtime: `supervisor`, then `service:<name>` in dependency order. */
  runnables(host: SupervisorHost): Runnable[] {
    const sampler = new AbortController();
    let sampling: Promise<void> = Promise.resolve();
    let metrics: Disposable | null = null;
    let writer: RecordWriter | null = null;
    const core: Runnable = {
      name: 'supervisor',
      start: async () => {
        writer = new RecordWriter(
          () => host.store(),
          () => this.#clock.now(),
          (error, key) => this.#logger.warn({ err: error, key }, 'service state not written to the store'),
        );
        const previous = await this.#readRecords(host.store());
        await stopOrphans(previous, {
          host: this.#host,
          specs: this.#specs,
          clock: this.#clock,
          logger: this.#logger,
          emit: (data) => host.bus.emit('service.orphan_stopped', data),
        });
        this.#build(host, writer, previous);
        await this.#forgetRemoved(host.store(), previous);
        const registry = host.registry();
        if (registry) {
          // Loaded here: a config with services does not load prom-client when the runtime is only imported.
          const { registerServiceMetrics } = await import('./service-metrics.ts');
          metrics = registerServiceMetrics(
            registry,
            host.bus,
            () => this.status().instances,
            () => this.status().disks,
          );
        }
        sampling = this.#sample(sampler.signal, host.bus);
      },
      stop: async () => {
        sampler.abort();
        await sampling;
        metrics?.dispose();
        await writer?.flush();
      },
    };
    return [core, ...[...this.#specs.values()].map((spec) => this.#serviceRunnable(spec, () => writer))];
  }

  /** One health component per service, `service:<name>`: unhealthy while an instance is not running or is failing. */
  healthChecks(): Record<string, HealthCheck> {
    const checks: Record<string, HealthCheck> = {};
    for (const name of this.#specs.keys()) checks[`service:${name}`] = () => this.#health(name);
    return checks;
  }

  status(): ServicesStatus {
    return {
      host: this.#host,
      instances: [...this.#instances.values()].flatMap((list) => list.map((i) => i.status())),
      disks: [...this.#disks].map(([service, watch]) => ({
        service,
        path: watch.spec.path,
        level: watch.level,
        freeBytes: watch.last?.freeBytes ?? null,
        totalBytes: watch.last?.totalBytes ?? null,
      })),
    };
  }

  /** The instances of `name`. Throws an error listing the services for an unknown name. */
  instances(name: string): readonly ServiceInstance[] {
    const list = this.#instances.get(name);
    if (!list) {
      const known = this.names.join(', ') || '(none)';
      throw new AutoloopError(`unknown service "${name}"; services in this config: ${known}`);
    }
    return list;
  }

  /** Stop-and-start every instance of `name` now (no backoff). */
  restart(name: string, reason = 'restart requested by an operator'): void {
    for (const instance of this.instances(name)) instance.restart(reason);
  }

  /** Stops `name` until {@link start}. */
  stop(name: string): void {
    for (const instance of this.instances(name)) instance.stop();
  }

  start(name: string): void {
    for (const instance of this.instances(name)) instance.start();
  }

  /**
   * `start`, `stop` and `restart` of one service for the daemon's admin
   * routes (`POST /services/:name/restart`). Each answers at once with the
   * instances' rows as they are then; the move itself (a stop's grace, a
   * start's readiness) goes on in the background.
   */
  adminActions(): AdminActionGroup {
    const answer = (name: string, action: string) => ({
      service: name,
      action,
      instances: this.instances(name).map((i) => i.status()),
    });
    return {
      names: () => this.names,
      verbs: {
        start: (name) => {
          this.start(name);
          return answer(name, 'start');
        },
        stop: (name) => {
          this.stop(name);
          return answer(name, 'stop');
        },
        restart: (name) => {
          this.restart(name);
          return answer(name, 'restart');
        },
      },
    };
  }

  #health(name: string): ComponentHealth {
    const list = this.#instances.get(name) ?? [];
    const rows = list.map((i) => i.status());
    const running = rows.filter((r) => r.state === 'running').length;
    const failing = rows.filter((r) => r.failing).length;
    const disk = this.#disks.get(name);
    const diskCritical = disk?.level === 'critical';
    const healthy = list.length > 0 && running === list.length && failing === 0 && !diskCritical;
    const detail = diskCritical
      ? `disk ${disk?.spec.path}: ${gb(disk?.last?.freeBytes ?? 0)} free, below criticalBelow`
      : list.length === 0
        ? 'not started'
        : rows.length === 1
          ? (rows[0] as InstanceStatus).detail
          : `${running}/${rows.length} running${failing ? `, ${failing} failing` : ''}`;
    return {
      healthy,
      detail,
      restarts: rows.reduce((sum, r) => sum + r.restarts, 0),
      pids: rows.map((r) => r.pid),
    };
  }

  async #readRecords(store: Store): Promise<InstanceRecord[]> {
    try {
      const docs = await store.documents.list(SERVICES_NAMESPACE, { prefix: `${this.#host}/` });
      return docs.map((d) => d.value as InstanceRecord);
    } catch (error) {
      this.#logger.warn({ err: error }, 'service state could not be read from the store; starting afresh');
      return [];
    }
  }

  /** Records of services no longer in the config: their groups were stopped above; the records go. */
  async #forgetRemoved(store: Store, previous: readonly InstanceRecord[]): Promise<void> {
    for (const record of previous) {
      const spec = this.#specs.get(record.service);
      if (spec && record.instance < spec.instances) continue;
      await store.documents
        .delete(SERVICES_NAMESPACE, `${record.host}/${record.service}/${record.instance}`)
        .catch(() => {});
    }
  }

  #build(host: SupervisorHost, writer: RecordWriter, previous: readonly InstanceRecord[]): void {
    this.#builder = { host, writer };
    for (const spec of this.#specs.values()) {
      const list: ServiceInstance[] = [];
      for (let index = 0; index < spec.instances; index++) {
        list.push(this.#newInstance(spec, index, previous));
      }
      this.#instances.set(spec.name, list);
    }
  }

  #newInstance(spec: ServiceSpec, index: number, previous: readonly InstanceRecord[]): ServiceInstance {
    const { host, writer } = this.#builder as InstanceBuilder;
    return new ServiceInstance({
      spec,
      index,
      clock: this.#clock,
      logger: this.#logger,
      emit: (type, data) => host.bus.emit(type, data),
      env: this.#env,
      memoryLimitBytes: spec.memory ? memoryLimitBytes(spec.memory, this.#totalMemory) : null,
      persist: (record) => writer.write(record),
      previous: previous.find((r) => r.service === spec.name && r.instance === index),
      host: this.#host,
    });
  }

  /** Runs `instance` until its service stops or a scale-down removes it. */
  #launch(instance: ServiceInstance, service: AbortSignal, gate: DependencyGate): void {
    const abort = new AbortController();
    const onStop = () => abort.abort();
    service.addEventListener('abort', onStop, { once: true });
    const done = instance
      .run(abort.signal, gate)
      .catch((error) => {
        this.#logger.error({ err: error, service: instance.name }, 'service instance loop failed');
      })
      .finally(() => {
        service.removeEventListener('abort', onStop);
        this.#runs.delete(instance);
      });
    this.#runs.set(instance, { abort, done });
  }

  /** The {@link ServiceControl} port over these services (see its contract). */
  control(): ServiceControl {
    return {
      names: () => this.names,
      instances: (service) => this.instances(service).length,
      scale: (service, count) => {
        const previous = this.#scaling.get(service) ?? Promise.resolve();
        const next = previous.then(() => this.#scale(service, count));
        this.#scaling.set(
          service,
          next.catch(() => {}),
        );
        return next;
      },
    };
  }

  async #scale(name: string, count: number): Promise<void> {
    if (!Number.isInteger(count) || count < 1 || count > 64) {
      throw new RangeError(`scale ${name}: expected an integer in [1, 64] instances, got ${count}`);
    }
    const list = this.instances(name) as ServiceInstance[];
    const spec = this.#specs.get(name) as ServiceSpec;
    const started = this.#started.get(name);
    if (!started || started.signal.aborted) throw new AutoloopError(`scale ${name}: the service is not running`);
    while (list.length < count) {
      const instance = this.#newInstance(spec, list.length, []);
      list.push(instance);
      this.#launch(instance, started.signal, started.gate);
    }
    const removed = list.splice(count);
    await Promise.all(
      removed.map(async (instance) => {
        const run = this.#runs.get(instance);
        run?.abort.abort();
        await run?.done;
        await this.#builder?.writer.flush();
        await this.#builder?.host
          .store()
          .documents.delete(SERVICES_NAMESPACE, recordKey(this.#host, name, instance.index))
          .catch(() => {});
      }),
    );
  }

  #serviceRunnable(spec: ServiceSpec, writer: () => RecordWriter | null): Runnable {
    const controller = new AbortController();
    return {
      name: `service:${spec.name}`,
      after: ['supervisor', ...spec.dependsOn.map((d) => `service:${d}`)],
      start: async (signal) => {
        const list = this.#instances.get(spec.name) ?? [];
        const gate = this.#gate(spec);
        this.#started.set(spec.name, { signal: controller.signal, gate });
        for (const instance of list) this.#launch(instance, controller.signal, gate);
        if (!gate.open()) {
          this.#logger.warn(
            { service: spec.name, dependsOn: spec.dependsOn },
            'service held back until the services it depends on are ready',
          );
          return;
        }
        await this.#awaitReady(spec, list, signal);
      },
      stop: async (deadline) => {
        await this.#scaling.get(spec.name);
        const list = this.#instances.get(spec.name) ?? [];
        for (const instance of list) instance.setDeadline(deadline);
        controller.abort();
        await Promise.all(list.map((instance) => this.#runs.get(instance)?.done));
        await writer()?.flush();
      },
    };
  }

  /** Opens once every instance of every service `spec` depends on was ready. */
  #gate(spec: ServiceSpec): DependencyGate {
    const deps = spec.dependsOn.flatMap((name) => this.#instances.get(name) ?? []);
    return {
      dependsOn: spec.dependsOn,
      open: () => deps.every((i) => i.wasReady),
      ready: Promise.all(deps.map((i) => i.whenReady())).then(() => {}),
    };
  }

  /**
   * The start of a service with a `ready:` check resolves once every
   * instance is ready, or at its `ready.timeout` (a warning; the instance
   * is restarted and its dependents stay held back until it is ready), so
   * a service that never gets ready does not hold up the rest of the
   * daemon: only what depends on it.
   */
  async #awaitReady(spec: ServiceSpec, list: readonly ServiceInstance[], signal: AbortSignal): Promise<void> {
    if (!spec.ready) return;
    const timeoutMs = spec.ready.timeoutMs;
    const waits = new AbortController();
    const onAbort = () => waits.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const ready = Promise.all(list.map((i) => i.whenReady())).then(() => true);
      const timeout = this.#clock.sleep(timeoutMs, waits.signal).then(
        () => false,
        () => true,
      );
      if (!(await Promise.race([ready, timeout]))) {
        this.#logger.warn(
          { service: spec.name, timeoutMs },
          'service not ready within its ready.timeout; it is restarted, and the services that depend on it wait until it is ready',
        );
      }
    } finally {
      waits.abort();
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** One process-table scan per interval feeds every running instance its tree's memory and CPU; disks are read too. */
  async #sample(signal: AbortSignal, bus: EventBus): Promise<void> {
    while (!signal.aborted) {
      try {
        const running = [...this.#instances.values()].flat().filter((i) => i.pid !== null);
        if (running.length > 0) {
          const table = readProcessTable();
          for (const instance of running) {
            const pid = instance.pid;
            if (pid !== null) instance.observe(treeUsage(table, pid, pid));
          }
        }
      } catch (error) {
        this.#logger.warn({ err: error }, 'process sample failed');
      }
      for (const [service, watch] of this.#disks) this.#checkDisk(service, watch, bus);
      await this.#clock.sleep(this.#sampleMs, signal).catch(() => {});
    }
  }

  /** `disk:`: one `service.disk_low` / `service.disk_ok` per change of level. */
  #checkDisk(service: string, watch: DiskWatch, bus: EventBus): void {
    const path = watch.spec.path;
    let space: ReturnType<typeof diskSpace>;
    try {
      space = diskSpace(path);
      this.#diskErrors.delete(service);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (this.#diskErrors.get(service) !== message) {
        this.#diskErrors.set(service, message);
        this.#logger.warn(
          { err: error, service, path },
          'services.<name>.disk.path cannot be read; free space not watched',
        );
      }
      return;
    }
    const changed = watch.check(space);
    if (changed === null) return;
    if (changed === 'ok') {
      bus.emit('service.disk_ok', { service, path, ...space });
      return;
    }
    bus.emit('service.disk_low', { service, path, level: changed, ...space, thresholdBytes: watch.threshold(space) });
    this.#logger.warn({ service, path, level: changed, freeBytes: space.freeBytes }, 'disk space low');
  }
}

function gb(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
}

/** The memory limit in bytes on this machine. */
export function memoryLimitBytes(memory: MemorySpec, totalBytes: number): number {
  const limit = memory.limit;
  return 'bytes' in limit ? limit.bytes : Math.round((totalBytes * limit.percent) / 100);
}
