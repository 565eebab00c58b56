/**
 * A real-time wait that an act can give up on: rejects with the signal's
 * reason when it aborts (shutdown), for test loops that stand in for slow
 * work.
 *
 * @example
 * act: async (item, { signal }) => abortableSleep(40, signal),
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
