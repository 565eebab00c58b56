/**
 * What policies may do around one attempt of an item. The runtime supplies
 * one per loop (see policies/loop-governor.ts); execution knows only this.
 */
export interface AttemptGovernor {
  /** The timeout for the next attempt (the loop's, possibly extended in high-latency periods). */
  timeoutMs(): number;
  /**
   * Waits for the rate limits and asks the breakers of the loop's
   * dependencies. Returns a pass to report the attempt's end through (at once
   * when there is nothing to wait for), or rejects: with a `BreakerOpenError`
   * (do not retry in this cycle), or with the signal's reason. The signal is
   * passed as a getter because creating one costs more than a no-op item.
   */
  enter(signal: () => AbortSignal): AttemptPass | Promise<AttemptPass>;
}

export interface AttemptPass {
  /**
   * Reports how the attempt ended. `counted: false` when it never tested the
   * dependency (aborted by shutdown or a lost lease): breakers count nothing.
   */
  exit(end: { ok: boolean; latencyMs: number; error?: unknown; counted: boolean }): void;
}
