/**
 * What `JSON.parse(JSON.stringify(value))` gives, without the text in
 * between: the memory store hands back copies as a durable backend would
 * (undefined, functions and symbols dropped from objects and turned into
 * null in arrays, non-finite numbers into null, `toJSON` honoured, class
 * instances as plain objects), and it copies every record, result and event
 * it stores. Plain objects, arrays and primitives are copied here (about 3x
 * faster than the round trip, and no garbage string); anything else (a
 * `toJSON`, a class instance, a bigint, a structure deeper than
 * {@link MAX_DEPTH}, e.g. a cycle) goes through the round trip itself, so
 * its result and its errors are the same.
 *
 * @example
 * jsonCopy({ a: 1, b: undefined, c: [undefined, NaN] }); // { a: 1, c: [null, null] }
 */
export function jsonCopy<T>(value: T): T {
  if (value === undefined) return value;
  if (typeof value !== 'object' || value === null) {
    return typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint'
      ? roundTrip(value)
      : (copyPrimitive(value) as T);
  }
  const copied = copyObject(value, 0);
  return (copied === FALLBACK ? roundTrip(value) : copied) as T;
}

/** Beyond this nesting the copy gives up and lets JSON decide (a cycle must throw JSON's TypeError). */
const MAX_DEPTH = 64;

const FALLBACK: unique symbol = Symbol('fallback');

function roundTrip<T>(value: T): T {
  return JSON.parse(JSON.stringify(value) as string);
}

/** A primitive as JSON gives it back (strings, booleans, null as is; -0 as 0; NaN and infinities as null). */
function copyPrimitive(value: unknown): unknown {
  if (typeof value !== 'number') return value;
  if (!Number.isFinite(value)) return null;
  return value === 0 ? 0 : value;
}

/** A value inside an object or array: the copy, `undefined` for "leave out", or FALLBACK. */
function copyValue(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return copyPrimitive(value);
    case 'object':
      return value === null ? null : copyObject(value, depth + 1);
    case 'bigint':
      return FALLBACK;
    default:
      return undefined; // undefined, functions, symbols
  }
}

function copyObject(value: object, depth: number): unknown {
  if (depth > MAX_DEPTH) return FALLBACK;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const v = copyValue(value[i], depth);
      if (v === FALLBACK) return FALLBACK;
      out[i] = v === undefined ? null : v;
    }
    return out;
  }
  const proto = Object.getPrototypeOf(value);
  if ((proto !== Object.prototype && proto !== null) || typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return FALLBACK;
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = copyValue((value as Record<string, unknown>)[key], depth);
    if (v === FALLBACK) return FALLBACK;
    if (v !== undefined) out[key] = v;
  }
  return out;
}
