import type { DroppedTicks } from '../core/dropped-ticks.ts';

/** Keeps the latest `cap` tick times pushed, counting the older ones it lets go. */
export class TickWindow {
  readonly kept: number[] = [];
  dropped: DroppedTicks | null = null;
  readonly #cap: number;

  constructor(cap: number) {
    this.#cap = cap;
  }

  push(at: number): void {
    this.kept.push(at);
    if (this.kept.length <= this.#cap) return;
    const gone = this.kept.shift() as number;
    this.dropped = this.dropped
      ? { count: this.dropped.count + 1, firstAt: this.dropped.firstAt, lastAt: gone }
      : { count: 1, firstAt: gone, lastAt: gone };
  }
}
