/**
 * Group commit: calls made in the same turn of the event loop are written in
 * one transaction (SQLite) or sent as one script call (Redis). Each caller's
 * promise settles only after that commit succeeded (or failed), so
 * durability is exactly that of one commit per call; what is saved is the
 * per-commit cost: SQLite's transaction locking, which dominates small writes
 * in WAL mode (`npm run bench`, figure (b)), and, on Redis, a command's
 * client and server overhead per item.
 *
 * `commit` receives the batch and returns (or resolves with) one result per
 * input, in order; when it throws or rejects, every caller in the batch is
 * rejected with that error. An async commit does not hold up the next batch.
 */
export class GroupCommit<I, R> {
  readonly #commit: (inputs: I[]) => R[] | Promise<R[]>;
  readonly #maxBatch: number;
  #pending: Array<{ input: I; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  #scheduled = false;
  #commits = 0;

  /**
   * `maxBatch` (default 500) bounds a batch: the call that fills one commits
   * it at once, so a single transaction (and the write lock other processes
   * wait on) never grows without limit.
   */
  constructor(commit: (inputs: I[]) => R[] | Promise<R[]>, options: { maxBatch?: number } = {}) {
    this.#commit = commit;
    this.#maxBatch = options.maxBatch ?? 500;
  }

  /** Batches handed to `commit` so far (a transaction each on SQLite): what a bench divides by its items. */
  get commits(): number {
    return this.#commits;
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
    this.#commits++;
    const fail = (error: unknown) => {
      for (const p of batch) p.reject(error);
    };
    const settle = (results: R[]) => {
      for (const [i, p] of batch.entries()) p.resolve(results[i] as R);
    };
    let results: R[] | Promise<R[]>;
    try {
      results = this.#commit(batch.map((p) => p.input));
    } catch (error) {
      fail(error);
      return;
    }
    if (results instanceof Promise) results.then(settle, fail);
    else settle(results);
  }
}
