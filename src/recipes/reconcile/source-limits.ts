/**
 * Per-source concurrency: at most `limit(source)` collections of a source
 * at once, whatever the loop's pool allows. A waiter leaves the line when
 * its signal aborts (timeout, budget, shutdown), so nobody waits for a
 * permit it no longer wants.
 */
export class SourceLimits {
  readonly #limit: (source: string) => number;
  readonly #active = new Map<string, number>();
  readonly #waiting = new Map<string, Array<() => void>>();

  constructor(limit: (source: string) => number) {
    this.#limit = limit;
  }

  /** Resolves with a release function once `source` has a free permit; rejects with the signal's reason. */
  acquire(source: string, signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if ((this.#active.get(source) ?? 0) < this.#limit(source)) return Promise.resolve(this.#take(source));
    return new Promise((resolve, reject) => {
      const line = this.#waiting.get(source) ?? [];
      this.#waiting.set(source, line);
      const onAbort = () => {
        const i = line.indexOf(grant);
        if (i >= 0) line.splice(i, 1);
        reject(signal.reason);
      };
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        resolve(this.#take(source));
      };
      line.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  active(source: string): number {
    return this.#active.get(source) ?? 0;
  }

  #take(source: string): () => void {
    this.#active.set(source, (this.#active.get(source) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active.set(source, (this.#active.get(source) ?? 1) - 1);
      this.#waiting.get(source)?.shift()?.();
    };
  }
}
