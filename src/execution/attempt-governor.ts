/**
 * What policies may do around one attempt of an item. The runtime supplies
 * one per loop (see policies/loop-governor.ts); execution knows only this.
 */
export interface AttemptGovernor {
  /** The timeout for the next attempt (the loop's, possibly extended in high-latency periods). */
  timeoutMs(): number;
  /**
   * Waits for the rate limits and asks the breakers of the loop's
   * dependencies. Resolves with a pass to report the attempt's end through,
   * or rejects: with a `BreakerOpenError` (do not retry in this cycle), or
   * with the signal's reason.
   */
  enter(signal: AbortSignal): Promise<AttemptPass>;
}

export interface AttemptPass {
  /**
   * Reports how the attempt ended. `counted: false` when it never tested the
   * dependency (aborted by shutdown or a lost lease): breakers count nothing.
   */
  exit(end: { ok: boolean; latencyMs: number; error?: unknown; counted: boolean }): void;
}
