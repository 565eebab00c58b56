/** Below this, a number is epoch seconds (it reaches the year 5138); from it on, epoch milliseconds (1973 on). */
const SECONDS_BELOW = 1e11;

const ISO =
  /^(?<y>\d{4})-(?<mo>\d{2})-(?<d>\d{2})(?:[T ](?<h>\d{2}):(?<mi>\d{2})(?::(?<s>\d{2})(?:\.(?<frac>\d{1,9}))?)?(?<zone>Z|[+-]\d{2}:?\d{2}))?$/;

/**
 * Epoch milliseconds of a candle time as files and APIs write it, or
 * undefined when it is none of:
 * - a number (or a string of digits) of epoch seconds when below 1e11,
 *   else epoch milliseconds; fractions of a second are kept to the ms;
 * - an ISO 8601 date `2024-01-31` (midnight UTC) or date-time with an
 *   explicit zone: `2024-01-31T12:00:00Z`, `2024-01-31 12:00+01:00`,
 *   `2024-01-31T12:00:00.250+0100`.
 *
 * A date-time without a zone is refused, not read as local time, so a
 * replay means the same thing on every machine. Impossible dates (Feb 30,
 * 24:00) are refused too.
 *
 * @example
 * parseCandleTime(1704067200);             // 1704067200000 (seconds)
 * parseCandleTime('1704067200000');        // 1704067200000 (ms)
 * parseCandleTime('2024-01-01T00:00:00Z'); // 1704067200000
 * parseCandleTime('2024-01-01 00:00');     // undefined: no zone
 */
export function parseCandleTime(value: unknown): number | undefined {
  if (typeof value === 'number') return fromEpochNumber(value);
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return fromEpochNumber(Number(text));
  return fromIso(text);
}

/** The "expected" half of an error message about a time that {@link parseCandleTime} refused. */
export const CANDLE_TIME_EXPECTED = 'a time as epoch ms, epoch s or ISO 8601 with a zone (2024-01-31T12:00:00Z)';

function fromEpochNumber(value: number): number | undefined {
  if (!Number.isFinite(value) || value < 0) return undefined;
  return Math.round(value < SECONDS_BELOW ? value * 1000 : value);
}

function fromIso(text: string): number | undefined {
  const g = ISO.exec(text)?.groups;
  if (!g) return undefined;
  const [y, mo, d] = [Number(g.y), Number(g.mo), Number(g.d)];
  if (g.h !== undefined && g.zone === undefined) return undefined;
  const [h, mi, s] = [Number(g.h ?? 0), Number(g.mi ?? 0), Number(g.s ?? 0)];
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 59) return undefined;
  const day = Date.UTC(y, mo - 1, d);
  if (new Date(day).getUTCDate() !== d) return undefined;
  const ms = g.frac === undefined ? 0 : Math.floor(Number(`0.${g.frac}`) * 1000);
  return day + ((h * 60 + mi) * 60 + s) * 1000 + ms - zoneOffsetMs(g.zone);
}

/** `Z` -> 0, `+01:00` / `+0100` -> 3_600_000, `-05:30` -> -19_800_000. */
function zoneOffsetMs(zone: string | undefined): number {
  if (zone === undefined || zone === 'Z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2));
  return (zone.startsWith('-') ? -1 : 1) * minutes * 60_000;
}
