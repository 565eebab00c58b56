/**
 * autoloop's public test kit: test your loops the way autoloop tests its own.
 *
 * @example
 * import { createLoopHarness, VirtualClock } from 'autoloop/testing';
 */

export { MemoryStore } from '../storage/memory/memory-store.ts';
export type { Entropy } from '../time/entropy.ts';
export { SeededEntropy } from '../time/seeded-entropy.ts';
export { VirtualClock } from '../time/virtual-clock.ts';
export { createLoopHarness, type LoopHarness } from './loop-harness.ts';
