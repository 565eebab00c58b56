/**
 * The objects of one inventory scan, indexed by key: what classify looks
 * every expected key up in.
 *
 * Why not a `Map<string, slot>`: a million keys then cost a million string
 * objects on the heap (about 60 bytes each beside their text), a string
 * decoded from the report's bytes per row only to be hashed once, and the
 * garbage collector walking all of them. Profiled on the 1,000,000-key
 * bench, `Map.set` and `Map.get` of fresh strings plus GC were about two
 * thirds of the CPU. Here keys are UTF-8 bytes laid end to end in one
 * growing buffer, with their size and time in typed arrays, and an
 * open-addressing table (linear probing, load <= 1/2) of (hash, slot)
 * pairs side by side, so a probe that misses touches one cache line.
 * A report reader adds keys straight from its buffer ({@link addBytes}); a
 * lookup by string hashes its char codes without encoding (ASCII, the usual
 * key) and compares them with the stored bytes, so a hit is exact, never a
 * hash match alone.
 */

const EMPTY = 0;
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 16_777_619;

/**
 * A key -> (size, modified time) index. Adding a key seen before replaces
 * its size and time.
 *
 * @example
 * const have = new HaveIndex();
 * have.add('nba/2024-02-29.json', 1234, Date.UTC(2024, 2, 1));
 * const slot = have.slot('nba/2024-02-29.json'); // 0
 * have.size(slot as number); // 1234
 */
export class HaveIndex {
  #text = Buffer.allocUnsafe(1 << 16);
  #textUsed = 0;
  #starts = new Int32Array(1024);
  #ends = new Int32Array(1024);
  #sizes = new Float64Array(1024);
  #times = new Float64Array(1024);
  /** Per cell two numbers: the key's hash, then slot + 1 (0: the cell is empty). */
  #table = new Int32Array(2 * 2048);
  #count = 0;
  #bytes = 0;

  /** Adds (or replaces) an object by its key as text. */
  add(key: string, size: number, modifiedAt: number): void {
    this.#reserveText(key.length * 3);
    const start = this.#textUsed;
    const end = start + this.#text.write(key, start, 'utf8');
    this.#insert(this.#text, start, end, size, modifiedAt, false);
  }

  /**
   * Adds (or replaces) an object whose key is the UTF-8 bytes
   * `source[start, end)`: a report reader's row, without a string made.
   */
  addBytes(source: Uint8Array, start: number, end: number, size: number, modifiedAt: number): void {
    this.#insert(source, start, end, size, modifiedAt, true);
  }

  /** The slot of `key`, for {@link size} and {@link modifiedAt}; undefined when absent. */
  slot(key: string): number | undefined {
    let h = FNV_OFFSET;
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      if (c >= 0x80) return this.#slotOfBytes(Buffer.from(key, 'utf8'));
      h = Math.imul(h ^ c, FNV_PRIME);
    }
    const table = this.#table;
    const mask = (table.length >> 1) - 1;
    const text = this.#text;
    for (let cell = spread(h) & mask; ; cell = (cell + 1) & mask) {
      const entry = table[2 * cell + 1] as number;
      if (entry === EMPTY) return undefined;
      if (table[2 * cell] !== h) continue;
      const slot = entry - 1;
      const start = this.#starts[slot] as number;
      if ((this.#ends[slot] as number) - start !== key.length) continue;
      let same = true;
      for (let i = 0; i < key.length; i++) {
        if (text[start + i] !== key.charCodeAt(i)) {
          same = false;
          break;
        }
      }
      if (same) return slot;
    }
  }

  size(slot: number): number {
    return this.#sizes[slot] as number;
  }

  modifiedAt(slot: number): number {
    return this.#times[slot] as number;
  }

  /** The key of `slot`. */
  key(slot: number): string {
    return this.#text.toString('utf8', this.#starts[slot], this.#ends[slot]);
  }

  get(key: string): { key: string; size: number; modifiedAt: number } | undefined {
    const slot = this.slot(key);
    return slot === undefined ? undefined : { key, size: this.size(slot), modifiedAt: this.modifiedAt(slot) };
  }

  get objects(): number {
    return this.#count;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Every key, in the order first added (each decoded when reached). */
  *keys(): IterableIterator<string> {
    for (let slot = 0; slot < this.#count; slot++) yield this.key(slot);
  }

  #slotOfBytes(bytes: Uint8Array): number | undefined {
    const h = hashBytes(bytes, 0, bytes.length);
    return this.#find(bytes, 0, bytes.length, h);
  }

  #find(source: Uint8Array, start: number, end: number, h: number): number | undefined {
    const table = this.#table;
    const mask = (table.length >> 1) - 1;
    for (let cell = spread(h) & mask; ; cell = (cell + 1) & mask) {
      const entry = table[2 * cell + 1] as number;
      if (entry === EMPTY) return undefined;
      if (table[2 * cell] === h && this.#sameBytes(entry - 1, source, start, end)) return entry - 1;
    }
  }

  #sameBytes(slot: number, source: Uint8Array, start: number, end: number): boolean {
    const from = this.#starts[slot] as number;
    if ((this.#ends[slot] as number) - from !== end - start) return false;
    const text = this.#text;
    for (let i = 0; i < end - start; i++) if (text[from + i] !== source[start + i]) return false;
    return true;
  }

  /** `copy` false: the bytes are already at the end of the text buffer (added by string); else they are copied there. */
  #insert(source: Uint8Array, start: number, end: number, size: number, modifiedAt: number, copy: boolean): void {
    const h = hashBytes(source, start, end);
    const found = this.#find(source, start, end, h);
    if (found !== undefined) {
      this.#bytes += size - (this.#sizes[found] as number);
      this.#sizes[found] = size;
      this.#times[found] = modifiedAt;
      return;
    }
    if (this.#count === this.#starts.length) this.#growSlots();
    if ((this.#count + 1) * 4 > this.#table.length) this.#growTable();
    const slot = this.#count++;
    let at = start;
    if (copy) {
      this.#reserveText(end - start);
      at = this.#textUsed;
      this.#text.set(source.subarray(start, end), at);
    }
    this.#starts[slot] = at;
    this.#ends[slot] = at + (end - start);
    this.#textUsed = at + (end - start);
    this.#sizes[slot] = size;
    this.#times[slot] = modifiedAt;
    this.#bytes += size;
    this.#place(slot, h);
  }

  #place(slot: number, h: number): void {
    const table = this.#table;
    const mask = (table.length >> 1) - 1;
    let cell = spread(h) & mask;
    while (table[2 * cell + 1] !== EMPTY) cell = (cell + 1) & mask;
    table[2 * cell] = h;
    table[2 * cell + 1] = slot + 1;
  }

  #reserveText(extra: number): void {
    if (this.#textUsed + extra <= this.#text.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#text.length * 2, this.#textUsed + extra));
    this.#text.copy(next, 0, 0, this.#textUsed);
    this.#text = next;
  }

  #growSlots(): void {
    const n = this.#starts.length * 2;
    this.#starts = grown(this.#starts, new Int32Array(n));
    this.#ends = grown(this.#ends, new Int32Array(n));
    this.#sizes = grown(this.#sizes, new Float64Array(n));
    this.#times = grown(this.#times, new Float64Array(n));
  }

  #growTable(): void {
    const old = this.#table;
    this.#table = new Int32Array(old.length * 2);
    for (let cell = 0; cell < old.length; cell += 2) {
      const entry = old[cell + 1] as number;
      if (entry !== EMPTY) this.#place(entry - 1, old[cell] as number);
    }
  }
}

function grown<T extends Int32Array | Float64Array>(old: T, next: T): T {
  next.set(old);
  return next;
}

/** FNV-1a over bytes; equal to the char-code loop of {@link HaveIndex.slot} for ASCII text. */
function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ (bytes[i] as number), FNV_PRIME);
  return h;
}

/** Mixes the hash's high bits into the low ones the table index uses (murmur3's finaliser). */
function spread(h: number): number {
  let x = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return x ^ (x >>> 16);
}
