import { AutoloopError } from '../core/errors.ts';
import type { Lease, LeaseStore } from '../storage/store.ts';
import { type Clock, type TimerHandle, withDeadline } from '../time/clock.ts';
import type { TimerGroup } from '../time/timer-group.ts';

/** The holder lost its lease (taken over, expired, or it could not renew in time). */
export class LeaseLostError extends AutoloopError {
  override name = 'LeaseLostError';
}

export interface HeldLeaseOptions {
  readonly store: LeaseStore;
  readonly clock: Clock;
  readonly owner: string;
  readonly ttlMs: number;
  /** Where the renewals are scheduled: the clock by default, or a {@link TimerGroup} shared by many leases. */
  readonly timers?: Pick<Clock, 'setTimer'>;
  /** Called once, when the lease is lost (not on release). */
  readonly onLost?: (lease: HeldLease, reason: string) => void;
}

/**
 * A lease this process holds while its work runs.
 *
 * States: held -> released (by `release`) | lost (renewal refused, or the
 * local give-up deadline passed). Both end states are final.
 *
 * Renewal is compare-and-set on (owner, token) every ttl/3. The holder keeps
 * a local give-up deadline on the MONOTONIC clock: the time the last
 * successful renewal was SENT plus ttl minus a safety margin. The store's
 * expiry can only be later than that (it was set after the request left), so
 * a holder that cannot renew in time (store slow or down, event loop blocked)
 * aborts its work before anyone can take the key over. Each renewal call gets
 * a timeout that ends before the deadline, so a hung store cannot keep the
 * holder waiting past it.
 */
export class HeldLease {
  readonly key: string;
  readonly token: number;
  readonly #o: HeldLeaseOptions;
  /** Created when `signal` is first read: most holders only need {@link onLost}. */
  #controller: AbortController | null = null;
  #lostError: LeaseLostError | null = null;
  #lostListeners: Array<(error: LeaseLostError) => void> = [];
  #state: 'held' | 'released' | 'lost' = 'held';
  #deadline: number;
  #timer: TimerHandle | null = null;
  #renewing = false;
  /** The last write, which also frees the lease, is under way: no more renewals. */
  #settling = false;

  constructor(lease: Lease, sentAtMonotonic: number, options: HeldLeaseOptions) {
    this.key = lease.key;
    this.token = lease.token;
    this.#o = options;
    this.#deadline = sentAtMonotonic + options.ttlMs - safetyMarginMs(options.ttlMs);
    this.#schedule();
  }

  /** Aborts, with a {@link LeaseLostError}, the moment the lease is known lost. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#lostError) this.#controller.abort(this.#lostError);
    }
    return this.#controller.signal;
  }

  /** The {@link LeaseLostError} once the lease is lost; null before (and after a release). */
  get lostError(): LeaseLostError | null {
    return this.#lostError;
  }

  /**
   * Calls `listener` with the {@link LeaseLostError} when the lease is lost
   * (not on release); at once if it already was. Returns the function that
   * removes it. Lighter than a listener on {@link signal}, for the engine's
   * per-item path.
   */
  onLost(listener: (error: LeaseLostError) => void): () => void {
    if (this.#lostError) {
      listener(this.#lostError);
      return () => {};
    }
    this.#lostListeners.push(listener);
    return () => {
      const at = this.#lostListeners.indexOf(listener);
      if (at >= 0) this.#lostListeners.splice(at, 1);
    };
  }

  get state(): 'held' | 'released' | 'lost' {
    return this.#state;
  }

  /**
   * True while the lease may still be trusted: held, and the local give-up
   * deadline has not passed. Checked before every fenced write, so a holder
   * whose timers could not run (blocked event loop) fences itself on waking.
   */
  get valid(): boolean {
    if (this.#state !== 'held') return false;
    if (this.#o.clock.monotonic() >= this.#deadline) {
      this.#lose('give-up deadline passed before a renewal succeeded');
      return false;
    }
    return true;
  }

  /** The fence to carry on writes made under this lease. */
  get fence(): { key: string; token: number } {
    return { key: this.key, token: this.token };
  }

  /**
   * Gives the key back through `write`: the holder's last store write, which
   * frees the lease in the same operation (`queue.complete` with
   * `releaseLease`). Renewals stop before it is sent; when it resolves the
   * lease is released. When it rejects the lease stays held, unrenewed, for
   * a plain {@link release} to free.
   */
  async releaseWith<T>(write: () => Promise<T>): Promise<T> {
    this.#settling = true;
    this.#timer?.cancel();
    const value = await write();
    if (this.#state === 'held') this.#state = 'released';
    return value;
  }

  /** Gives the key back at once so a peer need not wait for the TTL. */
  async release(): Promise<void> {
    if (this.#state !== 'held') return;
    this.#state = 'released';
    this.#timer?.cancel();
    await this.#o.store.release(this.key, this.#o.owner, this.token);
  }

  /**
   * Marks the lease lost from outside: the store reported it expired (a sweep
   * removed it) before this holder's renewal timer noticed, e.g. after a
   * stall. Aborts the work before anyone can adopt it again.
   */
  expire(reason: string): void {
    this.#lose(reason);
  }

  #schedule(): void {
    if (this.#settling) return;
    const { clock, ttlMs, timers = clock } = this.#o;
    const untilDeadline = this.#deadline - clock.monotonic();
    // Renew at ttl/3, or at the deadline itself if that comes first (then `valid` fails it).
    this.#timer = timers.setTimer(Math.max(0, Math.min(ttlMs / 3, untilDeadline)), () => void this.#renew());
  }

  async #renew(): Promise<void> {
    if (!this.valid || this.#renewing) return;
    this.#renewing = true;
    const { clock, store, owner, ttlMs } = this.#o;
    const sentAt = clock.monotonic();
    const budget = this.#deadline - sentAt;
    try {
      const renewed = await withDeadline(
        store.renew(this.key, owner, this.token, ttlMs, clock.now()),
        clock,
        budget,
        () => new Error(`store call timed out after ${budget} ms`),
      );
      if (this.#state !== 'held') return;
      if (renewed === undefined) {
        this.#lose('renewal refused: the lease expired or was taken over');
        return;
      }
      this.#deadline = sentAt + ttlMs - safetyMarginMs(ttlMs);
    } catch {
      // Store slow or down: keep trying until the deadline; `valid` decides.
    } finally {
      this.#renewing = false;
    }
    if (this.valid) this.#schedule();
  }

  #lose(reason: string): void {
    if (this.#state !== 'held') return;
    this.#state = 'lost';
    this.#timer?.cancel();
    const error = new LeaseLostError(`lease ${this.key} (token ${this.token}) lost: ${reason}`);
    this.#lostError = error;
    this.#controller?.abort(error);
    for (const listener of this.#lostListeners.splice(0)) listener(error);
    this.#o.onLost?.(this, reason);
  }
}

/** How much earlier than the store's expiry the holder gives up: a tenth of the TTL, at least 100 ms. */
export function safetyMarginMs(ttlMs: number): number {
  return Math.min(ttlMs / 2, Math.max(100, ttlMs / 10));
}
