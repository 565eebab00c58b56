import type { Entropy } from './entropy.ts';

const TWO_POW_32 = 2 ** 32;

/**
 * Deterministic entropy from a seed, for tests and simulations: the same
 * seed gives the same sequence of numbers and ids on every machine.
 *
 * The generator is splitmix32 (a Weyl sequence, step 0x9e3779b9, through
 * Wellons' 32-bit hash, as in bryc's `splitmix32`). Chosen over mulberry32
 * because every step of its output function is a bijection, so the 2^32
 * outputs of one period are all distinct; an id starts with one full output,
 * so ids never repeat within a period (2^32 draws, two per id), which a store
 * keyed by them relies on. Not for secrets.
 *
 * @example
 * const a = new SeededEntropy(7);
 * const b = new SeededEntropy(7);
 * assert.equal(a.id(), b.id());
 */
export class SeededEntropy implements Entropy {
  #state: number;

  /** @param seed an integer in [0, 2^32). */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed >= TWO_POW_32) {
      throw new RangeError(
        `Expected \`seed\` to be an integer >= 0 and < 2^32, got \`${String(seed)}\` (${typeof seed}); fold a larger number with \`seed >>> 0\``,
      );
    }
    this.#state = seed | 0;
  }

  random(): number {
    return this.#next() / TWO_POW_32;
  }

  id(): string {
    return hex8(this.#next()) + hex8(this.#next());
  }

  /** The next 32-bit output, as an unsigned integer. */
  #next(): number {
    this.#state = (this.#state + 0x9e3779b9) | 0;
    let z = this.#state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  }
}

function hex8(value: number): string {
  return value.toString(16).padStart(8, '0');
}
