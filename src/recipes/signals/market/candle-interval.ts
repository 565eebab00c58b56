const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const PATTERN = /^([1-9]\d{0,3})([mhdw])$/;

/**
 * A candle width in milliseconds: `<n>m`, `<n>h`, `<n>d` or `<n>w` with
 * `n` a whole number from 1 to 9999 (`'1m'`, `'15m'`, `'4h'`, `'1d'`,
 * `'1w'`), or undefined when `text` is not one. Months are left out: they
 * have no fixed width. Whether a source offers the width is the adapter's
 * business (exchanges offer a fixed list).
 *
 * @example
 * parseCandleInterval('15m'); // 900_000
 * parseCandleInterval('1M');  // undefined
 */
export function parseCandleInterval(text: string): number | undefined {
  const match = PATTERN.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** What a candle interval must look like, for messages. */
export const CANDLE_INTERVAL_EXPECTED = 'a candle width like "1m", "15m", "1h", "1d" or "1w"';

/** The message part for an interval that {@link parseCandleInterval} refuses. */
export function describeBadInterval(text: unknown): string {
  return `interval: expected ${CANDLE_INTERVAL_EXPECTED}, got ${JSON.stringify(text)}`;
}
