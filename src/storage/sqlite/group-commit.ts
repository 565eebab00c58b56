/**
 * Group commit: calls made in the same turn of the event loop are written in
 * one transaction. Each caller's promise settles only after that transaction
 * committed (or failed), so durability is exactly that of one transaction per
 * call; what is saved is the per-transaction locking cost, which dominates
 * small writes in WAL mode (measured by `npm run bench`, figure (b)).
 *
 * `commit` receives the batch and returns one result per input, in order;
 * when it throws, every caller in the batch is rejected with that error.
 */
export class GroupCommit<I, R> {
  readonly #commit: (inputs: I[]) => R[];
  readonly #maxBatch: number;
  #pending: Array<{ input: I; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  #scheduled = false;

  /**
   * `maxBatch` (default 500) bounds a batch: the call that fills one commits
   * it at once, so a single transaction (and the write lock other processes
   * wait on) never grows without limit.
   */
  constructor(commit: (inputs: I[]) => R[], options: { maxBatch?: number } = {}) {
    this.#commit = commit;
    this.#maxBatch = options.maxBatch ?? 500;
  }

  submit(input: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#pending.push({ input, resolve, reject });
      if (this.#pending.length >= this.#maxBatch) this.#flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        // setImmediate, not a timer: it waits for no time, only for this turn's other callers.
        setImmediate(() => {
          this.#scheduled = false;
          this.#flush();
        });
      }
    });
  }

  /** Commits what is pending now. A full batch flushes early; the scheduled flush then takes the rest. */
  #flush(): void {
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    let results: R[];
    try {
      results = this.#commit(batch.map((p) => p.input));
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    for (const [i, p] of batch.entries()) p.resolve(results[i] as R);
  }
}
