/**
 * A binary min-heap ordered by (priority, insertion order): lower priority
 * numbers first, FIFO among equals. Equal priorities insert in O(1), since a
 * new element is never smaller than its parent.
 */
export class PriorityHeap<T> {
  #items: Array<{ priority: number; seq: number; value: T }> = [];
  #seq = 0;

  get size(): number {
    return this.#items.length;
  }

  push(value: T, priority: number): void {
    const items = this.#items;
    const entry = { priority, seq: this.#seq++, value };
    let i = items.length;
    items.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as (typeof items)[number];
      if (p.priority < priority || (p.priority === priority && p.seq < entry.seq)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = entry;
  }

  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    if (top === undefined) return undefined;
    const last = items.pop() as (typeof items)[number];
    if (items.length > 0) {
      let i = 0;
      const n = items.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let c = l;
        const left = items[l] as (typeof items)[number];
        if (r < n) {
          const right = items[r] as (typeof items)[number];
          if (right.priority < left.priority || (right.priority === left.priority && right.seq < left.seq)) c = r;
        }
        const child = items[c] as (typeof items)[number];
        if (last.priority < child.priority || (last.priority === child.priority && last.seq < child.seq)) break;
        items[i] = child;
        i = c;
      }
      items[i] = last;
    }
    return top.value;
  }
}
