import type { ItemContext } from '../core/loop.ts';
import type { WorkItem } from '../core/work-item.ts';

/** The error a {@link FaultyDependency} fails calls with. */
export class InjectedFault extends Error {
  override name = 'InjectedFault';
}

/**
 * A named dependency (an API, a scraper's upstream) whose health a test or
 * a simulation sets: `slow(factor)` makes every call take `factor` times as
 * long, `failing(rate)` fails that fraction of calls (after their latency),
 * `healthy()` ends both. Wrap acts with {@link FaultyDependency.wrap}.
 *
 * Randomness comes from `random` (pass a seeded one to replay a run).
 *
 * @example
 * const llm = new FaultyDependency('llm', () => entropy.random());
 * const loop = defineLoop({ ..., act: llm.wrap(analyse) });
 * llm.failing(0.5); // half the calls fail from now on
 */
export class FaultyDependency {
  readonly name: string;
  readonly #random: () => number;
  #factor = 1;
  #failRate = 0;

  constructor(name: string, random: () => number) {
    this.name = name;
    this.#random = random;
  }

  /** The current slowdown factor (1: normal). */
  get factor(): number {
    return this.#factor;
  }

  /** The current injected failure rate (0: none). */
  get failRate(): number {
    return this.#failRate;
  }

  /** Every call takes `factor` times its normal duration (>= 1). */
  slow(factor: number): void {
    if (!(Number.isFinite(factor) && factor >= 1)) {
      throw new RangeError(`Expected \`factor\` to be a finite number >= 1, got \`${factor}\` (${typeof factor})`);
    }
    this.#factor = factor;
  }

  /** That fraction of calls fails with an {@link InjectedFault}. */
  failing(rate: number): void {
    if (!(rate >= 0 && rate <= 1)) {
      throw new RangeError(`Expected \`rate\` to be a number from 0 to 1, got \`${rate}\` (${typeof rate})`);
    }
    this.#failRate = rate;
  }

  healthy(): void {
    this.#factor = 1;
    this.#failRate = 0;
  }

  /** Whether this call fails (draws from `random` only while a failure rate is set). */
  drawFailure(): boolean {
    return this.#failRate > 0 && this.#random() < this.#failRate;
  }

  /**
   * `act` calling through this dependency: slowed by waiting (factor - 1)
   * times its own duration on the item's clock afterwards, failed at the
   * set rate once it returned.
   */
  wrap<P>(act: (item: WorkItem<P>, ctx: ItemContext) => unknown): (item: WorkItem<P>, ctx: ItemContext) => unknown {
    return async (item, ctx) => {
      const started = ctx.clock.monotonic();
      const output = await act(item, ctx);
      const extra = (this.#factor - 1) * (ctx.clock.monotonic() - started);
      if (extra > 0) await ctx.clock.sleep(extra, ctx.signal);
      if (this.drawFailure()) throw new InjectedFault(`${this.name}: injected failure`);
      return output;
    };
  }
}
