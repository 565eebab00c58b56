/**
 * The checks every backend runs on what recipes hand to `documents` and
 * `journals` (./store.ts), before anything is written: the same input is
 * refused with the same message on memory, SQLite and Redis. Bad input is
 * the caller's mistake, not the store's, so these throw TypeError or
 * RangeError, never StoreError (which would count against the store's
 * breaker).
 *
 * @example
 * const text = jsonText(value, `documents.put ${ns}/${key}`); // throws for a Map, NaN, a cycle...
 */

/**
 * `value` as JSON text, after checking that it is JSON: null, a boolean, a
 * finite number, a string, an array or a plain object of those (object
 * properties that are `undefined` are left out, as JSON.stringify does).
 * Throws a TypeError naming `where` and the path of the first value that is
 * not, so that what is read back always equals what was written.
 */
export function jsonText(value: unknown, where: string): string {
  checkJson(value, 'value', where, new Set());
  return JSON.stringify(value);
}

function checkJson(value: unknown, path: string, where: string, ancestors: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) notJson(where, path, String(value), 'use null or a string instead');
      return;
    case 'object':
      break;
    default:
      notJson(where, path, typeOf(value), fixFor(value));
  }
  if (value === null) return;
  if (ancestors.has(value)) {
    notJson(where, path, 'a reference to one of its own parents (a cycle)', 'copy the data without the cycle');
  }
  ancestors.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkJson(value[i], `${path}[${i}]`, where, ancestors);
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      notJson(
        where,
        path,
        `a ${value.constructor?.name ?? 'class instance'}`,
        'convert it to a plain object, array or string first',
      );
    }
    for (const [name, child] of Object.entries(value)) {
      if (child !== undefined) checkJson(child, propertyPath(path, name), where, ancestors);
    }
  }
  ancestors.delete(value);
}

function notJson(where: string, path: string, got: string, fix: string): never {
  throw new TypeError(`${where}: expected ${path} to be a JSON value, got ${got}; ${fix}`);
}

function typeOf(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint') return `a bigint (${value}n)`;
  return `a ${typeof value}`;
}

function fixFor(value: unknown): string {
  if (value === undefined) return 'use null, or leave the property out';
  if (typeof value === 'bigint') return 'store it as a string or a number';
  return 'leave it out';
}

function propertyPath(path: string, name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? `${path}.${name}` : `${path}[${JSON.stringify(name)}]`;
}

/** Throws a TypeError unless `name` (a namespace, key or journal name) is a non-empty string. */
export function checkName(what: string, name: unknown, where: string): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new TypeError(`${where}: expected ${what} to be a non-empty string, got ${describe(name)}`);
  }
}

/** Checks a document's namespace and key; returns the operation's place for messages, `op namespace/key`. */
export function documentPlace(op: string, namespace: string, key: string): string {
  checkName('namespace', namespace, op);
  checkName('key', key, op);
  return `${op} ${namespace}/${key}`;
}

/** Throws a RangeError unless `time` (a `now`, a `before`, an `after`) is a finite number. */
export function checkFinite(what: string, time: unknown, where: string): void {
  if (typeof time !== 'number' || !Number.isFinite(time)) {
    throw new RangeError(`${where}: expected ${what} to be a finite number, got ${describe(time)}`);
  }
}

/** Throws a RangeError unless `count` (a version, a keepLast) is an integer >= 0. */
export function checkCount(what: string, count: unknown, where: string): void {
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`${where}: expected ${what} to be an integer >= 0, got ${describe(count)}`);
  }
}

/** A caller's limit as the backends use it: absent -> `fallback`, otherwise floored and at least 0. */
export function limitOf(limit: number | undefined, fallback: number): number {
  if (limit === undefined) return fallback;
  if (Number.isNaN(limit)) return 0;
  return Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.floor(limit)));
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  return `a ${typeof value}`;
}

/** Code-point order of UTF-8 bytes, as SQLite's BINARY collation and Redis's ZRANGEBYLEX order keys. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
