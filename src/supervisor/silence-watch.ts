import type { Clock } from '../time/clock.ts';

/**
 * Hang detection by silence: a service whose stdout and stderr stay quiet
 * for `silentForMs` counts as hung (`services.<name>.hang.silentFor`). The
 * instance calls {@link heard} on every chunk of output; {@link watch}
 * sleeps on the clock until the silence is long enough, waking only when
 * the last deadline it computed passes (one timer, not one per chunk).
 * Silence is counted from the watch's creation (the spawn), so a service
 * that never prints is hung after `silentForMs` too.
 *
 * @example
 * const silence = new SilenceWatch(clock, 300_000);
 * child.stdout.on('data', () => silence.heard());
 * const silentMs = await silence.watch(run.signal); // null when the run ended first
 */
export class SilenceWatch {
  readonly #clock: Clock;
  readonly #silentForMs: number;
  #lastMs: number;

  constructor(clock: Clock, silentForMs: number) {
    this.#clock = clock;
    this.#silentForMs = silentForMs;
    this.#lastMs = clock.monotonic();
  }

  /** Output arrived: the silence starts over. */
  heard(): void {
    this.#lastMs = this.#clock.monotonic();
  }

  /** How long it has been quiet, ms. */
  get silentMs(): number {
    return this.#clock.monotonic() - this.#lastMs;
  }

  /** Resolves with the silence (ms, at least `silentForMs`) once it is long enough; with null when `signal` aborts first. */
  async watch(signal: AbortSignal): Promise<number | null> {
    while (!signal.aborted) {
      const silent = this.silentMs;
      if (silent >= this.#silentForMs) return silent;
      try {
        await this.#clock.sleep(this.#silentForMs - silent, signal);
      } catch {
        return null;
      }
    }
    return null;
  }
}
