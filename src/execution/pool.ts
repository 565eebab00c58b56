import { PriorityHeap } from './priority-heap.ts';

/**
 * A bounded worker pool that runs tasks in priority order.
 *
 * A pool, not batches: the moment a task settles, the next waiting task
 * starts in its slot, so one slow task never keeps a free slot idle.
 * `concurrency` can be changed at run time: raising it starts waiting tasks
 * at once; lowering it lets running tasks finish and starts no new ones
 * until fewer than the new limit run.
 *
 * @example
 * const pool = new WorkerPool(10);
 * const results = await Promise.all(items.map((it) => pool.submit(() => work(it), it.priority)));
 */
export class WorkerPool {
  #concurrency: number;
  #active = 0;
  readonly #waiting = new PriorityHeap<Job>();
  #idleWaiters: Array<() => void> = [];
  #released: { promise: Promise<void>; resolve: () => void } | null = null;

  constructor(concurrency: number) {
    this.#concurrency = checkConcurrency(concurrency);
  }

  get concurrency(): number {
    return this.#concurrency;
  }

  set concurrency(value: number) {
    this.#concurrency = checkConcurrency(value);
    this.#drain();
    this.#notifyReleased();
  }

  /** Tasks running now. */
  get active(): number {
    return this.#active;
  }

  /** Tasks waiting for a slot. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /**
   * Runs `task` when a slot is free, lower `priority` first (FIFO among
   * equals). Resolves or rejects with the task's own result.
   */
  submit<T>(task: () => Promise<T> | T, priority = 0): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const job = new Job(task, resolve as (value: unknown) => void, reject);
      if (this.#active < this.#concurrency && this.#waiting.size === 0) this.#start(job);
      else this.#waiting.push(job, priority);
    });
  }

  #start(job: Job): void {
    this.#active++;
    let result: unknown;
    try {
      result = job.task();
    } catch (error) {
      result = Promise.reject(error);
    }
    // One reaction, not then().finally(): the slot frees in the same microtask the caller is told.
    Promise.resolve(result).then(
      (value) => {
        job.resolve(value);
        this.#release();
      },
      (error: unknown) => {
        job.reject(error);
        this.#release();
      },
    );
  }

  /**
   * Resolves at the next change that may free a slot: a task ends, or the
   * concurrency changes. Lets a producer that counts more than the pool's
   * own tasks against the limit (act's items still taking their lease) wait
   * for capacity without polling. One promise per change, shared by callers.
   */
  nextRelease(): Promise<void> {
    if (!this.#released) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.#released = { promise, resolve };
    }
    return this.#released.promise;
  }

  #notifyReleased(): void {
    const released = this.#released;
    this.#released = null;
    released?.resolve();
  }

  /** Resolves when nothing runs and nothing waits. */
  onIdle(): Promise<void> {
    if (this.#active === 0 && this.#waiting.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #release(): void {
    this.#active--;
    this.#drain();
    this.#notifyReleased();
    if (this.#active === 0 && this.#waiting.size === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  #drain(): void {
    while (this.#active < this.#concurrency) {
      const next = this.#waiting.pop();
      if (!next) return;
      this.#start(next);
    }
  }
}

/** A submitted task and how to settle its caller's promise; an object, not a closure per task. */
class Job {
  readonly task: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;

  constructor(task: () => unknown, resolve: (value: unknown) => void, reject: (error: unknown) => void) {
    this.task = task;
    this.resolve = resolve;
    this.reject = reject;
  }
}

function checkConcurrency(value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`Expected \`concurrency\` to be an integer >= 1, got \`${value}\` (${typeof value})`);
  }
  return value;
}
