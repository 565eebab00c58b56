/**
 * The listeners of one policy's notifications (a breaker's state changes, a
 * controller's limit changes). A throwing listener is reported to `onError`
 * and never breaks the policy's transition or its sibling listeners: the
 * policy has already changed state when listeners run, so an exception
 * escaping into the caller's `permit.failure()` would only mislead it.
 */
export class ListenerSet<T> {
  readonly #listeners = new Set<(value: T) => void>();
  readonly #onError: (error: unknown) => void;

  constructor(onError: (error: unknown) => void = () => {}) {
    this.#onError = onError;
  }

  /** Adds `listener`; `dispose()` removes it (twice is harmless). */
  add(listener: (value: T) => void): { dispose(): void } {
    // Wrap so the same function added twice gets two independent subscriptions.
    const entry = (value: T) => listener(value);
    this.#listeners.add(entry);
    return { dispose: () => this.#listeners.delete(entry) };
  }

  /** Calls every listener with `value`, in the order they were added. */
  emit(value: T): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(value);
      } catch (error) {
        this.#onError(error);
      }
    }
  }
}
