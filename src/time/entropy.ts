/**
 * The entropy port: every random number and every generated id in autoloop
 * comes from an Entropy, so a run on a {@link VirtualClock} with a
 * {@link SeededEntropy} records exactly the same cycles, items and events
 * each time (tests, `simulate`). Only `system-entropy.ts` touches
 * `node:crypto` and `Math.random`.
 *
 * Deliberately left out: cryptographic guarantees (ids name records, they
 * are not secrets or tokens) and ordering (ids do not sort by creation).
 *
 * @example
 * const delayMs = Math.floor(entropy.random() * ceilingMs);
 * const cycleId = entropy.id(); // e.g. '3f09c2a81d4be776'
 */
export interface Entropy {
  /** A number in [0, 1), uniformly distributed. Never throws. */
  random(): number;
  /**
   * A short id: 16 lowercase hex characters (64 bits). Unique among the ids
   * of one Entropy with overwhelming probability (system) or by construction
   * (seeded), so stores may use it as a key. Never throws.
   */
  id(): string;
}

/** How many hex characters {@link Entropy.id} returns. */
export const ID_LENGTH = 16;
