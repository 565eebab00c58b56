/**
 * Breaker openings and time open, per breaker name, over every instance of
 * a simulation; and each instance's time not ready because one of its
 * breakers was open (its readiness probe fails while the store breaker or a
 * dependency's breaker is not closed).
 *
 * A breaker counts as open from its `open` transition to its `closed` one
 * (half-open trials included); an instance that crashes stops counting.
 */
export class BreakerBooks {
  readonly #openSince = new Map<string, number>();
  readonly #totals = new Map<string, { openings: number; openMs: number }>();
  /** Per instance: how many of its breakers are open, and since when one was. */
  readonly #instances = new Map<string, { open: number; since: number }>();
  #notReadyMs = 0;
  #notReadySpells = 0;

  transition(instance: string, breaker: string, to: string, at: number): void {
    const key = `${instance}\u0000${breaker}`;
    const totals = this.#totals.get(breaker) ?? { openings: 0, openMs: 0 };
    this.#totals.set(breaker, totals);
    if (to === 'open' && !this.#openSince.has(key)) {
      totals.openings++;
      this.#openSince.set(key, at);
      this.#opened(instance, at);
    } else if (to === 'closed') this.#end(key, breaker, at);
  }

  /** An instance died: its breakers stop counting. */
  forget(instance: string, at: number): void {
    for (const key of [...this.#openSince.keys()]) {
      if (key.startsWith(`${instance}\u0000`)) this.#end(key, key.split('\u0000')[1] as string, at);
    }
  }

  close(at: number): void {
    for (const key of [...this.#openSince.keys()]) this.#end(key, key.split('\u0000')[1] as string, at);
  }

  summary(): Array<{ breaker: string; openings: number; openMs: number }> {
    return [...this.#totals.entries()]
      .map(([breaker, t]) => ({ breaker, ...t }))
      .sort((a, b) => (a.breaker < b.breaker ? -1 : a.breaker > b.breaker ? 1 : 0));
  }

  /** Instance time not ready (a breaker open), summed over instances, and how many such spells. */
  notReady(): { ms: number; spells: number } {
    return { ms: this.#notReadyMs, spells: this.#notReadySpells };
  }

  #opened(instance: string, at: number): void {
    const state = this.#instances.get(instance) ?? { open: 0, since: at };
    if (state.open === 0) {
      state.since = at;
      this.#notReadySpells++;
    }
    state.open++;
    this.#instances.set(instance, state);
  }

  #end(key: string, breaker: string, at: number): void {
    const since = this.#openSince.get(key);
    if (since === undefined) return;
    this.#openSince.delete(key);
    const totals = this.#totals.get(breaker);
    if (totals) totals.openMs += at - since;
    const instance = this.#instances.get(key.split('\u0000')[0] as string);
    if (!instance || instance.open === 0) return;
    instance.open--;
    if (instance.open === 0) this.#notReadyMs += at - instance.since;
  }
}
