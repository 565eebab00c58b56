/**
 * Something that runs for the life of a process: a scheduler, the recovery
 * loop, the HTTP server, a supervised service. The lifecycle manager
 * ({@link RunnableGroup}) starts runnables in dependency order and stops them
 * in reverse within a grace deadline.
 *
 * Contract:
 * - `start(signal)` resolves once the runnable is ready (a server listening,
 *   a subscription made); work that goes on afterwards (a loop) keeps running
 *   in the background until `stop`. It rejects when it cannot start; the
 *   group then stops what already started. `signal` aborts when the group
 *   gives up starting (a later part failed, or stop was called meanwhile).
 * - `stop(deadline)` ends the runnable and resolves when it is done. It
 *   should finish gracefully while `deadline` is not aborted, and cut short
 *   (abort in-flight work) once it is. It is called only for runnables whose
 *   start resolved, at most once. It should not reject; a rejection is
 *   logged and the group goes on stopping the others.
 *
 * @example
 * const http: Runnable = { name: 'http', after: ['metrics'], start: () => server.start(), stop: () => server.stop() };
 */
export interface Runnable {
  /** Unique within a group; named in logs and errors. */
  readonly name: string;
  /** Runnables that must be started before this one (and stopped after it). */
  readonly after?: readonly string[];
  start(signal: AbortSignal): Promise<void> | void;
  stop?(deadline: AbortSignal): Promise<void> | void;
}

/**
 * A runnable from a blocking `run(signal)` that resolves when its signal
 * aborts (controller-runtime's shape): `start` launches it and returns at
 * once (after `ready`, when given), `stop` aborts it and waits for it to end.
 *
 * @example
 * group.add(backgroundTask('recovery', (signal) => recovery.run(signal), { ready: () => recovery.beat() }));
 */
export function backgroundTask(
  name: string,
  run: (signal: AbortSignal) => Promise<void>,
  options: { after?: readonly string[]; ready?: () => Promise<void> | void } = {},
): Runnable {
  let controller: AbortController | null = null;
  let running: Promise<void> | null = null;
  return {
    name,
    ...(options.after && { after: options.after }),
    async start() {
      await options.ready?.();
      controller = new AbortController();
      running = run(controller.signal);
    },
    async stop() {
      controller?.abort();
      await running;
    },
  };
}
