/**
 * Option checks for the policies, with the project's one message template
 * (STYLE.md #10): "Expected `failureThreshold` to be an integer >= 1, got `0` (number)".
 * Policies reject bad values when they are constructed; they never silently
 * correct them.
 */

/** The bounds a numeric option must fall in; omitted bounds are open. */
export interface NumberBounds {
  /** Inclusive lower bound. */
  min?: number;
  /** Exclusive lower bound. */
  above?: number;
  /** Inclusive upper bound. */
  max?: number;
  /** Exclusive upper bound. */
  below?: number;
}

function describeBounds(bounds: NumberBounds): string {
  const parts: string[] = [];
  if (bounds.min !== undefined) parts.push(`>= ${bounds.min}`);
  if (bounds.above !== undefined) parts.push(`> ${bounds.above}`);
  if (bounds.max !== undefined) parts.push(`<= ${bounds.max}`);
  if (bounds.below !== undefined) parts.push(`< ${bounds.below}`);
  return parts.length > 0 ? ` ${parts.join(' and ')}` : '';
}

function withinBounds(value: number, bounds: NumberBounds): boolean {
  if (bounds.min !== undefined && value < bounds.min) return false;
  if (bounds.above !== undefined && value <= bounds.above) return false;
  if (bounds.max !== undefined && value > bounds.max) return false;
  if (bounds.below !== undefined && value >= bounds.below) return false;
  return true;
}

function got(value: unknown): string {
  return `got \`${String(value)}\` (${typeof value})`;
}

/**
 * Returns `value` when it is an integer within `bounds`, else throws a RangeError.
 *
 * @example
 * checkInteger('failureThreshold', 0, { min: 1 }); // throws: Expected `failureThreshold` to be an integer >= 1, got `0` (number)
 */
export function checkInteger(name: string, value: unknown, bounds: NumberBounds): number {
  if (typeof value === 'number' && Number.isInteger(value) && withinBounds(value, bounds)) return value;
  throw new RangeError(`Expected \`${name}\` to be an integer${describeBounds(bounds)}, ${got(value)}`);
}

/**
 * Returns `value` when it is a finite number within `bounds`, else throws a RangeError.
 *
 * @example
 * checkNumber('perMs', -1, { above: 0 }); // throws: Expected `perMs` to be a finite number > 0, got `-1` (number)
 */
export function checkNumber(name: string, value: unknown, bounds: NumberBounds): number {
  if (typeof value === 'number' && Number.isFinite(value) && withinBounds(value, bounds)) return value;
  throw new RangeError(`Expected \`${name}\` to be a finite number${describeBounds(bounds)}, ${got(value)}`);
}
