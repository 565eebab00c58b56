/**
 * autoloop's public test kit: test your loops the way autoloop tests its own.
 *
 * The fault kit (`KillableClock`, `crashableStore`, `FaultyDependency`) runs
 * several runtimes as in-process "processes" on one virtual clock and one
 * shared store, and crashes, freezes or cuts them off faithfully; it is what
 * `autoloop simulate` and autoloop's own guarantee tests are built on. See
 * docs/simulate.md.
 *
 * @example
 * import { createLoopHarness, VirtualClock } from 'autoloop/testing';
 */

export { MemoryStore } from '../storage/memory/memory-store.ts';
export type { Entropy } from '../time/entropy.ts';
export { SeededEntropy } from '../time/seeded-entropy.ts';
export { VirtualClock } from '../time/virtual-clock.ts';
export { type CrashableStore, crashableStore } from './crashable-store.ts';
export { FaultyDependency, InjectedFault } from './faulty-dependency.ts';
export { KillableClock } from './killable-clock.ts';
export { createLoopHarness, type LoopHarness } from './loop-harness.ts';
