import type { ChildProcess } from 'node:child_process';
import type { Logger } from '../core/logger.ts';
import type { EventMap, EventName } from '../observability/events.ts';
import type { Clock, TimerHandle } from '../time/clock.ts';
import { CpuWindow } from './cpu-window.ts';
import { type ProbeResult, probeCommand, probeHttp, probePort } from './probes.ts';
import { groupAlive, spawnGroup, stopGroup } from './process-group.ts';
import { processStartTicks, type TreeUsage } from './process-table.ts';
import { RestartSchedule } from './restart-schedule.ts';
import type { ServiceLog } from './service-log.ts';
import type { InstanceRecord } from './service-record.ts';
import type { ServiceSpec } from './service-spec.ts';
import { SilenceWatch } from './silence-watch.ts';
import './service-events.ts';

/**
 * One copy of a service, kept running. States (one small method per move):
 *
 *   idle ──run──▶ (waiting ──dependencies ready──▶) starting ──ready──▶ running
 *   starting ──ready.timeout──▶ stopping (restart at once; `service.not_ready`)
 *   starting|running ──exit──────────────▶ (schedule) ─┬─▶ backoff ──delay──▶ starting
 *   starting|running ──memory|health|silence|restart──▶ stopping ─exit─┘ (requested: no delay)
 *                                                       └─▶ stopped (policy, limit with onLimit: stop, operator stop)
 *   any ──shutdown──▶ stopping ──▶ stopped
 *
 * `stopping` sends the stop signal to the process group and SIGKILLs the
 * group at the kill timeout (process-group.ts). A leader that exits on its
 * own but leaves members behind has them stopped the same way, so a
 * restart never runs beside a leftover copy.
 */
export type InstanceState =
  | { readonly kind: 'idle' }
  | { readonly kind: 'waiting'; readonly dependsOn: readonly string[] }
  | { readonly kind: 'starting'; readonly pid: number; readonly startedAt: number }
  | { readonly kind: 'running'; readonly pid: number; readonly startedAt: number; readonly readyAt: number }
  | { readonly kind: 'stopping'; readonly pid: number; readonly startedAt: number; readonly reason: string }
  | { readonly kind: 'backoff'; readonly until: number; readonly attempt: number }
  | { readonly kind: 'stopped'; readonly reason: string };

/** What an instance needs from the supervisor. */
export interface InstanceContext {
  readonly spec: ServiceSpec;
  readonly index: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly emit: <K extends EventName>(type: K, data: EventMap[K]) => void;
  /** The daemon's environment; the service's `env` and AUTOLOOP_SERVICE/AUTOLOOP_INSTANCE go on top. */
  readonly env: NodeJS.ProcessEnv;
  /** The memory limit in bytes on this machine, or null. */
  readonly memoryLimitBytes: number | null;
  /** Writes the instance's record to the store (fire and forget: the supervisor logs failures). */
  readonly persist: (record: InstanceRecord) => void;
  /** The record a previous supervisor left (restart count, backoff position). */
  readonly previous?: InstanceRecord | undefined;
  readonly host: string;
}

/**
 * What an instance waits for before its first start: the services it
 * `dependsOn`, until every instance of them was ready once.
 */
export interface DependencyGate {
  readonly dependsOn: readonly string[];
  /** True once every instance of the dependencies was ready. */
  open(): boolean;
  /** Resolves when {@link open} turns true. */
  readonly ready: Promise<void>;
}

/** The last exit, for status and the store. */
export interface ExitRecord {
  readonly code: number | null;
  readonly signal: string | null;
  readonly at: number;
  readonly reason: string | null;
}

/** One row of `autoloop services`. */
export interface InstanceStatus {
  readonly service: string;
  readonly instance: number;
  readonly state: InstanceState['kind'];
  readonly pid: number | null;
  readonly startedAt: string | null;
  readonly uptimeMs: number;
  readonly restarts: number;
  readonly failing: boolean;
  readonly ready: boolean;
  readonly rssBytes: number | null;
  readonly cpuSeconds: number | null;
  /** CPU of the tree averaged over `limits.cpu.window`, percent of one core; null without `limits.cpu` or before a full window. */
  readonly cpuPercent: number | null;
  readonly memoryLimitBytes: number | null;
  readonly healthFailures: number;
  readonly lastExit: ExitRecord | null;
  readonly detail: string;
}

interface Run {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly startedAt: number;
  readonly startMono: number;
  readonly startTicks: number | null;
  readonly requested: Deferred<string>;
  readonly abort: AbortController;
  logMatched: Deferred<void> | null;
  /** Set when the service has `hang.silentFor`. */
  readonly silence: SilenceWatch | null;
  ready: boolean;
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  settled: boolean;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  const d: Deferred<T> = {
    promise,
    settled: false,
    resolve(value) {
      if (d.settled) return;
      d.settled = true;
      resolve(value);
    },
  };
  return d;
}

/** How often readiness probes (port, HTTP) are tried while a service starts. */
const READY_POLL_MS = 200;

// Size (about 540 lines of class, 680 with its helpers; over the ~300 we aim for): one copy's state
// machine (spawn, waiting for dependencies, readiness, health probes, memory and CPU samples, silence, stop
// with a kill timeout, restart) shares its process handle and timers in every transition. The arithmetic
// of the watches already lives apart (CpuWindow, SilenceWatch, RestartSchedule); the next split is the
// readiness and health probing into a watcher of its own, then the helpers at the bottom into a module.
export class ServiceInstance {
  readonly #c: InstanceContext;
  readonly #schedule: RestartSchedule;
  readonly #firstReady = deferred<void>();
  #state: InstanceState = { kind: 'idle' };
  #run: Run | null = null;
  #usage: TreeUsage | null = null;
  readonly #cpu: CpuWindow | null;
  #overLimit = 0;
  #healthFailures = 0;
  #lastExit: ExitRecord | null = null;
  #log: ServiceLog | null = null;
  #held = false;
  #wake = deferred<void>();
  #deadline: AbortSignal | undefined;

  constructor(context: InstanceContext) {
    this.#c = context;
    this.#schedule = new RestartSchedule(context.spec.restart);
    this.#cpu = context.spec.cpu ? new CpuWindow(context.spec.cpu) : null;
    const previous = context.previous;
    if (previous) {
      this.#schedule.restore({ restarts: previous.restarts, attempt: previous.attempt, failing: previous.failing });
      this.#lastExit = previous.lastExit;
    }
  }

  get name(): string {
    return this.#c.spec.name;
  }

  get index(): number {
    return this.#c.index;
  }

  get state(): InstanceState {
    return this.#state;
  }

  /** The current run's leader pid and group id (the same number), or null. */
  get pid(): number | null {
    return this.#run?.pid ?? null;
  }

  get failing(): boolean {
    return this.#schedule.failing;
  }

  get restarts(): number {
    return this.#schedule.restarts;
  }

  /** Resolves the first time the instance is ready (its `ready:` check passed, or it was spawned when it has none). */
  whenReady(): Promise<void> {
    return this.#firstReady.promise;
  }

  /** Whether the instance was ready at least once. */
  get wasReady(): boolean {
    return this.#firstReady.settled;
  }

  /**
   * Keeps the instance running until `signal` aborts, then stops its group
   * (the stop signal, SIGKILL at the kill timeout, or at once when the
   * deadline passed to {@link setDeadline} aborts). With a `gate`, nothing
   * is spawned until the gate opens (the services it depends on are ready).
   */
  async run(signal: AbortSignal, gate?: DependencyGate): Promise<void> {
    if (gate && !gate.open()) {
      this.#enter({ kind: 'waiting', dependsOn: gate.dependsOn });
      this.#c.emit('service.waiting', { service: this.name, instance: this.index, dependsOn: [...gate.dependsOn] });
      const stop = whenAborted(signal);
      await Promise.race([gate.ready, stop.promise]);
      stop.dispose();
      if (signal.aborted) {
        this.#enter({ kind: 'stopped', reason: 'supervisor stopped' });
        return;
      }
    }
    if (this.#c.spec.logs) {
      // Loaded on use: only a service with `logs:` needs rotating-file-stream.
      const { ServiceLog } = await import('./service-log.ts');
      this.#log = new ServiceLog(this.#c.spec.logs, this.#c.index, (error) =>
        this.#c.logger.warn({ err: error, service: this.name }, 'service log file failed; output is dropped'),
      );
    }
    try {
      while (!signal.aborted) {
        if (this.#held) {
          if (this.#state.kind !== 'stopped') this.#enter({ kind: 'stopped', reason: 'stopped by an operator' });
          await this.#idle(signal);
          continue;
        }
        const exit = await this.#runOnce(signal);
        if (signal.aborted) break;
        if (this.#held) {
          this.#enter({ kind: 'stopped', reason: 'stopped by an operator' });
          continue;
        }
        await this.#afterExit(exit, signal);
      }
    } finally {
      this.#enter({ kind: 'stopped', reason: 'supervisor stopped' });
      await this.#log?.close();
    }
  }

  /** The shutdown deadline: once it aborts, a stop in progress SIGKILLs the group at once. */
  setDeadline(deadline: AbortSignal): void {
    this.#deadline = deadline;
  }

  /** Stop-and-start now (an operator, the memory watch, a failed health check). */
  restart(reason: string): void {
    if (this.#run) this.#run.requested.resolve(reason);
    else if (this.#state.kind === 'backoff' || this.#state.kind === 'stopped') this.start();
  }

  /** Stops the instance until {@link start}; the supervisor keeps running. */
  stop(reason = 'stopped by an operator'): void {
    this.#held = true;
    this.#run?.requested.resolve(reason);
    this.#wake.resolve();
  }

  /** Starts a stopped instance (or cuts a backoff short). */
  start(): void {
    this.#held = false;
    this.#wake.resolve();
  }

  /** One sample of the current run's process tree (the supervisor samples every second): memory and CPU limits. */
  observe(usage: TreeUsage): void {
    const run = this.#run;
    if (!run) return;
    this.#usage = usage;
    this.#observeMemory(run, usage);
    this.#observeCpu(run, usage);
  }

  #observeMemory(run: Run, usage: TreeUsage): void {
    const limit = this.#c.memoryLimitBytes;
    const spec = this.#c.spec.memory;
    if (limit === null || !spec) return;
    if (usage.rssBytes <= limit) {
      this.#overLimit = 0;
      return;
    }
    this.#overLimit += 1;
    if (this.#overLimit !== spec.samples) return;
    this.#c.emit('service.memory_limit', {
      service: this.name,
      instance: this.index,
      pid: run.pid,
      rssBytes: usage.rssBytes,
      limitBytes: limit,
      samples: spec.samples,
    });
    run.requested.resolve(`memory ${mb(usage.rssBytes)} over the limit of ${mb(limit)} for ${spec.samples} samples`);
  }

  #observeCpu(run: Run, usage: TreeUsage): void {
    const spec = this.#c.spec.cpu;
    if (!spec || !this.#cpu) return;
    const reading = this.#cpu.observe(this.#c.clock.monotonic(), usage.cpuSeconds);
    if (reading.crossed !== 'over' || reading.percent === null) return;
    const percent = Math.round(reading.percent * 10) / 10;
    this.#c.emit('service.cpu_high', {
      service: this.name,
      instance: this.index,
      pid: run.pid,
      percent,
      limitPercent: spec.percent,
      windowMs: spec.windowMs,
      restart: spec.restart,
    });
    if (spec.restart) {
      run.requested.resolve(`CPU ${percent}% of a core over ${spec.windowMs} ms, above the limit of ${spec.percent}%`);
    }
  }

  status(): InstanceStatus {
    const s = this.#state;
    const run = this.#run;
    const now = this.#c.clock.now();
    return {
      service: this.name,
      instance: this.index,
      state: s.kind,
      pid: run?.pid ?? null,
      startedAt: run ? new Date(run.startedAt).toISOString() : null,
      uptimeMs: run ? now - run.startedAt : 0,
      restarts: this.restarts,
      failing: this.failing,
      ready: run?.ready ?? false,
      rssBytes: this.#usage?.rssBytes ?? null,
      cpuSeconds: this.#usage?.cpuSeconds ?? null,
      cpuPercent: run ? (this.#cpu?.percent ?? null) : null,
      memoryLimitBytes: this.#c.memoryLimitBytes,
      healthFailures: this.#healthFailures,
      lastExit: this.#lastExit,
      detail: detailOf(s, this.#lastExit),
    };
  }

  /** What the store keeps: enough for the next supervisor to find this group and carry the restart count. */
  record(): InstanceRecord {
    const run = this.#run;
    return {
      service: this.name,
      instance: this.index,
      host: this.#c.host,
      supervisorPid: process.pid,
      state: this.#state.kind,
      pid: run?.pid ?? null,
      pgid: run?.pid ?? null,
      startTicks: run?.startTicks ?? null,
      startedAt: run?.startedAt ?? null,
      restarts: this.restarts,
      attempt: this.#schedule.attempt,
      failing: this.failing,
      lastExit: this.#lastExit,
    };
  }

  #enter(state: InstanceState): void {
    this.#state = state;
    this.#c.persist(this.record());
  }

  async #idle(signal: AbortSignal): Promise<void> {
    this.#wake = deferred<void>();
    if (!this.#held) return;
    const stop = whenAborted(signal);
    await Promise.race([this.#wake.promise, stop.promise]);
    stop.dispose();
  }

  async #afterExit(exit: ExitFacts, signal: AbortSignal): Promise<void> {
    const clock = this.#c.clock;
    const decision = this.#schedule.onExit({
      code: exit.code,
      upMs: exit.upMs,
      at: clock.monotonic(),
      requested: exit.reason,
    });
    if (decision.nowFailing) {
      const { restarts, windowMs } = this.#c.spec.restart.limit;
      this.#c.emit('service.failing', { service: this.name, instance: this.index, restarts, windowMs });
    }
    if (decision.kind === 'stop') {
      this.#c.emit('service.stopped', { service: this.name, instance: this.index, reason: decision.reason });
      this.#held = true;
      this.#enter({ kind: 'stopped', reason: decision.reason });
      return;
    }
    const reason = exit.reason ?? exitText(exit.code, exit.signal);
    this.#c.emit('service.restarting', {
      service: this.name,
      instance: this.index,
      delayMs: decision.delayMs,
      attempt: decision.attempt,
      reason,
    });
    this.#enter({ kind: 'backoff', until: clock.now() + decision.delayMs, attempt: decision.attempt });
    this.#wake = deferred<void>();
    const wake = this.#wake.promise;
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    void wake.then(() => controller.abort());
    await clock.sleep(decision.delayMs, controller.signal).catch(() => {});
    signal.removeEventListener('abort', onAbort);
  }

  async #runOnce(signal: AbortSignal): Promise<ExitFacts> {
    const { spec, clock } = this.#c;
    const env = { ...this.#c.env, ...spec.env, AUTOLOOP_SERVICE: spec.name, AUTOLOOP_INSTANCE: String(this.index) };
    const child = spawnGroup(spec.argv, { cwd: spec.cwd, env });
    const exited = new Promise<{ code: number | null; signal: string | null; error?: Error }>((resolve) => {
      child.once('exit', (code, sig) => resolve({ code, signal: sig }));
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
    });
    if (child.pid === undefined) {
      const failed = await exited;
      this.#c.logger.error({ err: failed.error, service: this.name, argv: spec.argv }, 'service could not be started');
      this.#lastExit = { code: null, signal: null, at: clock.now(), reason: failed.error?.message ?? 'spawn failed' };
      return { code: null, signal: null, upMs: 0, reason: null };
    }
    const run: Run = {
      child,
      pid: child.pid,
      startedAt: clock.now(),
      startMono: clock.monotonic(),
      startTicks: processStartTicks(child.pid) ?? null,
      requested: deferred<string>(),
      abort: new AbortController(),
      logMatched: spec.ready?.kind === 'log' ? deferred<void>() : null,
      silence: spec.hang ? new SilenceWatch(clock, spec.hang.silentForMs) : null,
      ready: false,
    };
    this.#run = run;
    this.#overLimit = 0;
    this.#cpu?.reset();
    this.#healthFailures = 0;
    this.#pipeOutput(run);
    this.#enter({ kind: 'starting', pid: run.pid, startedAt: run.startedAt });
    this.#c.emit('service.started', {
      service: this.name,
      instance: this.index,
      pid: run.pid,
      restarts: this.restarts,
    });
    const resetTimer = this.#watchUptime(run);
    void this.#readiness(run);
    void this.#watchSilence(run);
    const stop = whenAborted(signal);
    const first = await Promise.race([
      exited.then(() => null),
      run.requested.promise,
      stop.promise.then(() => 'supervisor stopping'),
    ]);
    stop.dispose();
    if (first !== null) {
      this.#enter({ kind: 'stopping', pid: run.pid, startedAt: run.startedAt, reason: first });
      await this.#stopGroup(run.pid);
    }
    const exit = await exited;
    // A leader that exited on its own may leave members behind (a daemonising child): they go too.
    if (groupAlive(run.pid)) await this.#stopGroup(run.pid);
    run.abort.abort();
    resetTimer.cancel();
    this.#run = null;
    this.#usage = null;
    const upMs = clock.monotonic() - run.startMono;
    this.#lastExit = { code: exit.code, signal: exit.signal, at: clock.now(), reason: first };
    this.#c.emit('service.exited', {
      service: this.name,
      instance: this.index,
      pid: run.pid,
      code: exit.code,
      signal: exit.signal,
      upMs,
      reason: first,
    });
    return { code: exit.code, signal: exit.signal, upMs, reason: first };
  }

  #stopGroup(pgid: number): Promise<unknown> {
    const { spec, clock } = this.#c;
    return stopGroup(pgid, {
      signal: spec.stopSignal,
      timeoutMs: spec.killTimeoutMs,
      clock,
      ...(this.#deadline && { deadline: this.#deadline }),
    });
  }

  /** After `resetAfter` up, the backoff starts over (and a failing instance has recovered). */
  #watchUptime(run: Run): TimerHandle {
    const { clock, spec } = this.#c;
    return clock.setTimer(spec.restart.backoff.resetAfterMs, () => {
      if (this.#run !== run) return;
      if (this.#schedule.ranFor(clock.monotonic() - run.startMono)) {
        this.#c.emit('service.recovered', { service: this.name, instance: this.index });
      }
      this.#c.persist(this.record());
    });
  }

  #pipeOutput(run: Run): void {
    const pending = { out: '', err: '' };
    const onData = (stream: 'out' | 'err') => (chunk: Buffer) => {
      run.silence?.heard();
      this.#log?.write(chunk);
      if (!this.#log) this.#c.logger.debug({ service: this.name, stream }, chunk.toString('utf8').trimEnd());
      const matched = run.logMatched;
      const pattern = this.#c.spec.ready?.kind === 'log' ? this.#c.spec.ready.pattern : null;
      if (!matched || matched.settled || !pattern) return;
      const lines = (pending[stream] + chunk.toString('utf8')).split('\n');
      pending[stream] = (lines.pop() ?? '').slice(-4096);
      if (lines.some((line) => pattern.test(line)) || pattern.test(pending[stream])) matched.resolve();
    };
    run.child.stdout?.on('data', onData('out'));
    run.child.stderr?.on('data', onData('err'));
  }

  /** `hang.silentFor`: no output that long → `service.hung` and a graceful restart. */
  async #watchSilence(run: Run): Promise<void> {
    const silentMs = await run.silence?.watch(run.abort.signal);
    // Already being stopped (memory, health, an operator): a quiet stop is no hang.
    if (silentMs == null || run.abort.signal.aborted || run.requested.settled) return;
    this.#c.emit('service.hung', {
      service: this.name,
      instance: this.index,
      pid: run.pid,
      silentMs: Math.round(silentMs),
    });
    run.requested.resolve(`hung: no output for ${Math.round(silentMs)} ms`);
  }

  async #readiness(run: Run): Promise<void> {
    const ready = this.#c.spec.ready;
    const signal = run.abort.signal;
    if (ready) {
      const ok = await this.#waitReady(run, ready);
      if (signal.aborted) return;
      if (!ok) {
        this.#c.emit('service.not_ready', {
          service: this.name,
          instance: this.index,
          pid: run.pid,
          timeoutMs: ready.timeoutMs,
        });
        run.requested.resolve(`not ready within ${ready.timeoutMs} ms`);
        return;
      }
    }
    run.ready = true;
    const { clock } = this.#c;
    this.#enter({ kind: 'running', pid: run.pid, startedAt: run.startedAt, readyAt: clock.now() });
    if (ready) {
      const afterMs = clock.monotonic() - run.startMono;
      this.#c.emit('service.ready', { service: this.name, instance: this.index, pid: run.pid, afterMs });
    }
    this.#firstReady.resolve();
    if (this.#c.spec.health) await this.#healthLoop(run);
  }

  async #waitReady(run: Run, ready: NonNullable<ServiceSpec['ready']>): Promise<boolean> {
    const { clock } = this.#c;
    const signal = run.abort.signal;
    const until = run.startMono + ready.timeoutMs;
    if (ready.kind === 'log') {
      const timeout = clock.sleep(ready.timeoutMs, signal).then(
        () => false,
        () => false,
      );
      return Promise.race([(run.logMatched as Deferred<void>).promise.then(() => true), timeout]);
    }
    while (!signal.aborted && clock.monotonic() < until) {
      const probeMs = Math.max(1, Math.min(1_000, until - clock.monotonic()));
      const result =
        ready.kind === 'port'
          ? await probePort(ready.host, ready.port, probeMs, clock)
          : await probeHttp(ready.url, probeMs, clock, signal);
      if (result.ok) return true;
      await clock.sleep(READY_POLL_MS, signal).catch(() => {});
    }
    return false;
  }

  async #healthLoop(run: Run): Promise<void> {
    const { clock, spec } = this.#c;
    const health = spec.health;
    if (!health) return;
    const signal = run.abort.signal;
    try {
      await clock.sleep(health.startPeriodMs, signal);
      while (!signal.aborted) {
        await clock.sleep(health.intervalMs, signal);
        const result = await this.#probeHealth(health, signal);
        if (signal.aborted) return;
        if (result.ok) {
          this.#healthFailures = 0;
          continue;
        }
        this.#healthFailures += 1;
        this.#c.emit('service.health_failed', {
          service: this.name,
          instance: this.index,
          failures: this.#healthFailures,
          threshold: health.failures,
          detail: result.detail,
        });
        if (this.#healthFailures >= health.failures) {
          run.requested.resolve(`health check failed ${this.#healthFailures} times in a row: ${result.detail}`);
          return;
        }
      }
    } catch {
      // The run ended (its signal aborted a sleep).
    }
  }

  #probeHealth(health: NonNullable<ServiceSpec['health']>, signal: AbortSignal): Promise<ProbeResult> {
    const { clock, spec } = this.#c;
    if (health.kind === 'http') return probeHttp(health.url, health.timeoutMs, clock, signal);
    const env = { ...this.#c.env, ...spec.env, AUTOLOOP_SERVICE: spec.name, AUTOLOOP_INSTANCE: String(this.index) };
    return probeCommand(health.command, { cwd: spec.cwd, env, timeoutMs: health.timeoutMs, clock });
  }
}

interface ExitFacts {
  readonly code: number | null;
  readonly signal: string | null;
  readonly upMs: number;
  /** Why the supervisor stopped it; null when it exited on its own. */
  readonly reason: string | null;
}

/** Resolves when `signal` aborts; `dispose` removes the listener (the supervisor's signal lives for days). */
function whenAborted(signal: AbortSignal): { promise: Promise<void>; dispose(): void } {
  let listener = () => {};
  const promise = new Promise<void>((resolve) => {
    listener = () => resolve();
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', listener, { once: true });
  });
  return { promise, dispose: () => signal.removeEventListener('abort', listener) };
}

function exitText(code: number | null, signal: string | null): string {
  return code === null ? `killed by ${signal ?? 'a signal'}` : `exited with code ${code}`;
}

function mb(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MB`;
}

function detailOf(state: InstanceState, lastExit: ExitRecord | null): string {
  switch (state.kind) {
    case 'idle':
      return 'not started';
    case 'waiting':
      return `waiting until ${state.dependsOn.join(', ')} ${state.dependsOn.length === 1 ? 'is' : 'are'} ready`;
    case 'starting':
      return 'waiting until ready';
    case 'running':
      return 'running';
    case 'stopping':
      return `stopping: ${state.reason}`;
    case 'backoff':
      return `restart ${state.attempt} at ${new Date(state.until).toISOString()} (${lastExit ? (lastExit.reason ?? exitText(lastExit.code, lastExit.signal)) : ''})`;
    case 'stopped':
      return state.reason;
  }
}
