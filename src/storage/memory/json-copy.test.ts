import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonCopy } from './json-copy.ts';

const roundTrip = (value: unknown) => JSON.parse(JSON.stringify(value));

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
  norm(): number {
    return Math.hypot(this.x, this.y);
  }
}

describe('jsonCopy', () => {
  it('gives what a JSON round trip gives, value for value', () => {
    const cases: unknown[] = [
      null,
      0,
      -0,
      1.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      'text',
      true,
      [],
      {},
      [1, undefined, () => 1, Symbol('s'), Number.NaN, -0, 'x', null],
      { a: 1, b: undefined, c: () => 1, d: Symbol('s'), e: Number.NEGATIVE_INFINITY, f: -0 },
      { nested: { list: [{ deep: [1, 2, { deeper: 'yes' }] }], when: new Date(0) } },
      { point: new Point(3, 4), map: new Map([[1, 2]]), set: new Set([1]) },
      { error: new Error('boom'), re: /x/g },
      { withToJSON: { toJSON: () => ({ replaced: true }) } },
      Object.assign(Object.create(null), { bare: 1 }),
      { order: 1, of: 2, keys: 3, 10: 'numeric first', 2: 'as JSON does' },
    ];
    for (const value of cases) assert.deepEqual(jsonCopy(value), roundTrip(value), JSON.stringify(value));
    assert.ok(Object.is(jsonCopy(-0), 0), '-0 comes back as 0');
    assert.equal(jsonCopy(undefined), undefined);
  });

  it('copies: changing the original or the copy leaves the other as it was', () => {
    const original = { list: [{ n: 1 }], inner: { n: 2 } };
    const copy = jsonCopy(original);
    original.list[0] = { n: 9 };
    original.inner.n = 9;
    assert.deepEqual(copy, { list: [{ n: 1 }], inner: { n: 2 } });
  });

  it('throws what JSON throws: a cycle, a bigint', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { back: cyclic };
    assert.throws(() => jsonCopy(cyclic), TypeError);
    assert.throws(() => jsonCopy({ big: 1n }), TypeError);
    assert.throws(() => jsonCopy(1n), TypeError);
  });
});
