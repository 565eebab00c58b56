import { setMaxListeners } from 'node:events';
import { type CycleDeps, type RecoveryId, runCycle, runRecoveryCycle } from '../core/cycle.ts';
import type { CycleRecord, Tick } from '../core/cycle-record.ts';
import { type DroppedTicks, droppedNote } from '../core/dropped-ticks.ts';
import type { ResolvedLoop } from '../core/loop.ts';
import type { LeaseManager } from '../leases/lease-manager.ts';
import type { Disposable, EventBus } from '../observability/events.ts';
import type { QueuedItem, Store } from '../storage/store.ts';
import type { Clock } from '../time/clock.ts';
import type { Entropy } from '../time/entropy.ts';
import { type ActDeps, actOnItems } from './act.ts';
import type { AttemptGovernor } from './attempt-governor.ts';
import { ItemDurations } from './item-durations.ts';
import { WorkerPool } from './pool.ts';

/** The loop's policies as the runner sees them (implemented by policies/loop-governor.ts). */
export interface LoopGate extends AttemptGovernor {
  /** Why the next scheduled tick must be skipped, or undefined. */
  skipReason(): string | undefined;
  /** Feedback after each cycle that ran. */
  cycleEnded(record: CycleRecord): void;
}

export interface LoopRunnerDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly bus: EventBus;
  readonly random: () => number;
  /** Cycle ids. */
  readonly entropy: Entropy;
  readonly owner: string;
  readonly leases?: LeaseManager;
  /** Claim lifetime between heartbeats (the lease TTL). */
  readonly claimTtlMs: number;
  /** Called when a cycle rejects (the store failed). The runner keeps going. */
  readonly onError: (error: unknown, loop: string) => void;
  /** After a succeeded item's result is stored (result publishing). */
  readonly onStored?: ActDeps['onStored'];
}

/**
 * Owns one loop at run time: its worker pool and its overlap state.
 *
 * States: idle -> running (one cycle) -> idle; while running, a tick is
 * either skipped (recorded with its reason) or, with `queue-one`, held as the
 * single pending tick that runs when the current cycle ends.
 *
 * Tick gates, in order: paused, overlap, the store's own
 * `unavailable()` (see storage/store.ts), then the loop's policies
 * (dependency breakers, latency, backpressure). Every skip is written with
 * `cycles.start` and reported as `cycle.skipped` unless a peer recorded the
 * tick already.
 */
export class LoopRunner {
  readonly loop: ResolvedLoop;
  readonly pool: WorkerPool;
  readonly #deps: LoopRunnerDeps;
  #current: Promise<CycleRecord> | null = null;
  #currentTick: Tick | null = null;
  #pending: Tick | null = null;
  #paused = false;
  #closed = false;
  /** Aborts when the runner closes (shutdown began): cycles start no new items. */
  readonly #closing = new AbortController();
  #recovering: Promise<unknown> | null = null;
  #recoverySeq = 0;
  /** The next recovery cycle's id, kept while recovery ticks adopt nothing (see RecoveryId). */
  #nextRecovery: RecoveryId | null = null;
  #governor: LoopGate | null = null;
  /** Built once per governor: every tick and every recovery attempt (each second) needs them. */
  #cycleDepsBuilt: CycleDeps | null = null;
  /** Aborted on forced shutdown: reaches every item's signal. */
  readonly #abort = new AbortController();
  /** With `policies.order: longest-first` (the default): the keys' last attempt times, and the subscription feeding them. */
  readonly #durations: { history: ItemDurations; feed: Disposable } | null;

  constructor(loop: ResolvedLoop, deps: LoopRunnerDeps) {
    this.loop = loop;
    this.#deps = deps;
    this.pool = new WorkerPool(loop.policies.concurrency);
    // Every cycle and every backoff sleep listens to this long-lived signal for a while; many at once is normal.
    setMaxListeners(0, this.#abort.signal);
    if (loop.policies.order === 'longest-first') {
      const history = new ItemDurations(loop.name);
      const feed = deps.bus.on('item.attempted', (e) => {
        if (e.loop === loop.name) history.record(e.key, e.durationMs);
      });
      this.#durations = { history, feed };
    } else this.#durations = null;
  }

  get running(): boolean {
    return this.#current !== null;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Attaches the loop's policies: tick gates (breaker open, latency above its
   * bar, backpressure cooldown), per-attempt governance, and the end-of-cycle
   * feedback. Call before the first tick.
   */
  attachGovernor(governor: LoopGate): void {
    this.#governor = governor;
    this.#cycleDepsBuilt = null;
  }

  /** Changes the loop's item concurrency; takes effect at once. */
  setConcurrency(limit: number): void {
    this.pool.concurrency = limit;
    this.#deps.bus.emit('loop.concurrency', { loop: this.loop.name, limit });
  }

  /** Paused loops record their ticks as skipped. Manual runs still work. */
  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
  }

  /** A scheduled tick arrived. Starts a cycle, queues it, or records a skip. */
  onTick(tick: Tick): void {
    if (this.#closed) return;
    if (this.#paused) {
      void this.#skip(tick, 'paused: the loop is paused');
      return;
    }
    if (this.#current !== null) {
      if (this.loop.overlap === 'queue-one' && !this.#pending) {
        this.#pending = tick;
        return;
      }
      const why = this.#pending
        ? `a tick (${this.#pending.id}) is already queued`
        : `cycle for ${this.#currentTick?.id} still running`;
      void this.#skip(tick, `overlap: ${why}`);
      return;
    }
    const gated = this.#deps.store.unavailable?.() ?? this.#governor?.skipReason();
    if (gated) {
      void this.#skip(tick, gated);
      return;
    }
    void this.#start(tick).catch(() => {}); // errors are reported through onError
  }

  /** Ticks that fell due while this process was blocked and could not fire them. */
  onMissed(ticks: Tick[], dropped: DroppedTicks | null = null): void {
    const reason = 'missed: the process was blocked when the tick fell due';
    ticks.forEach((tick, i) => void this.#skip(tick, i === 0 ? reason + droppedNote(dropped) : reason));
  }

  /**
   * Ticks that fell due while no process ran the loop (found at start), per
   * the loop's missed-tick policy: all recorded as skipped, or with
   * `run-once` the latest one run now.
   */
  async onDowntime(ticks: Tick[], dropped: DroppedTicks | null = null): Promise<void> {
    const latest = ticks.at(-1);
    if (!latest) return;
    const runLatest = this.loop.missed === 'run-once';
    const reason = `missed: no process was running the loop when the tick fell due (policy ${this.loop.missed})`;
    const skipped = runLatest ? ticks.slice(0, -1) : ticks;
    // The oldest record also accounts for older ticks past the cap, so every missed tick has a recorded reason.
    await Promise.all(skipped.map((tick, i) => this.#skip(tick, i === 0 ? reason + droppedNote(dropped) : reason)));
    if (runLatest) this.onTick(latest);
  }

  /**
   * Runs a cycle now (a manual tick) and resolves with its record. While a
   * cycle runs, the overlap policy applies as for any tick; a skip resolves
   * with the skipped record.
   */
  async runNow(tick: Tick): Promise<CycleRecord> {
    if (this.#current !== null) {
      const reason = `overlap: cycle for ${this.#currentTick?.id} still running`;
      return this.#skip(tick, reason);
    }
    return this.#start(tick);
  }

  /**
   * Stops accepting ticks and drops a queued one; the running cycle starts
   * no more items (those not started go back to the queue) and lets the
   * ones in flight finish.
   */
  close(): void {
    this.#closed = true;
    this.#pending = null;
    this.#closing.abort();
    this.#durations?.feed.dispose();
  }

  /**
   * Adopts and re-runs items whose claims expired (their process stopped
   * heartbeating). At most one recovery cycle runs at a time per loop.
   */
  recover(): Promise<CycleRecord | undefined> {
    if (this.#closed || this.#recovering !== null) return Promise.resolve(undefined);
    if (this.#deps.store.unavailable?.()) return Promise.resolve(undefined);
    if (this.#nextRecovery === null || this.#nextRecovery.spent) {
      this.#nextRecovery = { id: this.#deps.entropy.id(), seq: ++this.#recoverySeq, spent: false };
    }
    const run = runRecoveryCycle(this.loop, this.#cycleDeps(), this.#abort.signal, this.#nextRecovery);
    // Settles either way: nobody may be waiting on it (idle() only runs at shutdown), so it must not reject.
    this.#recovering = run
      .catch(() => undefined)
      .finally(() => {
        this.#recovering = null;
      });
    return run.catch((error) => {
      this.#deps.onError(error, this.loop.name);
      return undefined;
    });
  }

  /** Resolves when the current cycle (and a queued one) and any recovery cycle have ended. */
  async idle(): Promise<void> {
    while (this.#current !== null || this.#recovering !== null) {
      await Promise.all([this.#current?.catch(() => {}), this.#recovering?.catch(() => {})]);
    }
  }

  /** Aborts in-flight items (forced shutdown); their cycle records the abort. */
  abort(reason: Error): void {
    this.#abort.abort(reason);
  }

  /** Resolves with the record once the runner is idle again (so a caller's next run is not an overlap). */
  #start(tick: Tick): Promise<CycleRecord> {
    this.#currentTick = tick;
    const cycle = runCycle(this.loop, tick, this.#cycleDeps(), this.#abort.signal);
    const done = cycle
      .then((record) => {
        try {
          this.#governor?.cycleEnded(record);
        } catch (error) {
          this.#deps.onError(error, this.loop.name);
        }
        return record;
      })
      .finally(() => {
        this.#current = null;
        this.#currentTick = null;
        const next = this.#pending;
        this.#pending = null;
        if (next && !this.#closed) this.onTick(next);
      });
    this.#current = done;
    done.catch((error) => this.#deps.onError(error, this.loop.name));
    return done;
  }

  #cycleDeps(): CycleDeps {
    this.#cycleDepsBuilt ??= this.#buildCycleDeps();
    return this.#cycleDepsBuilt;
  }

  #buildCycleDeps(): CycleDeps {
    const governor = this.#governor ?? undefined;
    const actDeps: ActDeps = { ...this.#deps, pool: this.pool, governor, closing: this.#closing.signal };
    return {
      ...this.#deps,
      act: async (loop, queued, ctx, record, adopted) => {
        const ordered = await this.#ordered(queued);
        try {
          return await actOnItems(loop, ordered, ctx, record, actDeps, adopted);
        } finally {
          await this.#saveDurations();
        }
      },
    };
  }

  /**
   * The cycle's items in the order they start: as the cycle sorted them
   * (priority), and with `longest-first` the longest expected first within
   * a priority. The history is read at the first cycle; a store that fails
   * then leaves the priority order (reported, the cycle goes on).
   */
  async #ordered(queued: readonly QueuedItem[]): Promise<QueuedItem[]> {
    if (!this.#durations) return [...queued];
    try {
      await this.#durations.history.load(this.#deps.store);
    } catch (error) {
      this.#deps.onError(error, this.loop.name);
    }
    return this.#durations.history.order(queued);
  }

  async #saveDurations(): Promise<void> {
    try {
      await this.#durations?.history.save(this.#deps.store, this.#deps.clock.now());
    } catch (error) {
      this.#deps.onError(error, this.loop.name);
    }
  }

  #skip(tick: Tick, reason: string): Promise<CycleRecord> {
    const { clock, store, bus, owner } = this.#deps;
    const now = clock.now();
    const record: CycleRecord = {
      id: this.#deps.entropy.id(),
      loop: this.loop.name,
      tickId: tick.id,
      trigger: tick.trigger,
      scheduledAt: tick.scheduledAt,
      startedAt: now,
      finishedAt: now,
      steps: {},
      counts: { planned: 0, succeeded: 0, failed: 0, skipped: 0 },
      outcome: { kind: 'skipped', reason },
      owner,
    };
    return store.cycles.start(record).then(
      (stored) => {
        // A tick another process already ran is not a skip of ours to report.
        if (stored) bus.emit('cycle.skipped', { loop: this.loop.name, tickId: tick.id, reason });
        return record;
      },
      (error) => {
        this.#deps.onError(error, this.loop.name);
        return record;
      },
    );
  }
}
