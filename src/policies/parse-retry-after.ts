/**
 * Parses an HTTP `Retry-After` header (RFC 9110 §10.2.3): either
 * delay-seconds (`120`) or an HTTP-date in any of the three formats a
 * recipient must accept (IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, the
 * obsolete RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT` and asctime
 * `Sun Nov  6 08:49:37 1994`). Parsed by hand, not with `Date.parse`, which
 * accepts almost anything ("2" is a date to it).
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const M = `(?<month>${MONTHS.join('|')})`;
const TIME = '(?<hh>\\d{2}):(?<mm>\\d{2}):(?<ss>\\d{2})';
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day';

/** The three HTTP-date formats; RFC 850 has a two-digit year. */
const FORMATS: ReadonlyArray<{ pattern: RegExp; twoDigitYear: boolean }> = [
  { pattern: new RegExp(`^${DAY}, (?<day>\\d{2}) ${M} (?<year>\\d{4}) ${TIME} GMT$`), twoDigitYear: false },
  { pattern: new RegExp(`^${LONG_DAY}, (?<day>\\d{2})-${M}-(?<year>\\d{2}) ${TIME} GMT$`), twoDigitYear: true },
  { pattern: new RegExp(`^${DAY} ${M} (?<day> \\d|\\d{2}) ${TIME} (?<year>\\d{4})$`), twoDigitYear: false },
];

/** RFC 9110: a two-digit year more than 50 years in the future means the most recent past such year. */
function fullYear(twoDigits: number, nowMs: number): number {
  const nowYear = new Date(nowMs).getUTCFullYear();
  const year = Math.floor(nowYear / 100) * 100 + twoDigits;
  return year > nowYear + 50 ? year - 100 : year;
}

/** Epoch ms of an HTTP-date, or undefined when it is not one or names no real instant (Feb 30, 25:00). */
function parseHttpDate(text: string, nowMs: number): number | undefined {
  for (const { pattern, twoDigitYear } of FORMATS) {
    const groups = pattern.exec(text)?.groups;
    if (!groups) continue;
    const [day, hh, mm, ss, year] = [groups.day, groups.hh, groups.mm, groups.ss, groups.year].map(Number) as [
      number,
      number,
      number,
      number,
      number,
    ];
    if (hh > 23 || mm > 59 || ss > 60) return undefined; // 60: a leap second
    const ms = Date.UTC(
      twoDigitYear ? fullYear(year, nowMs) : year,
      MONTHS.indexOf(groups.month ?? ''),
      day,
      hh,
      mm,
      Math.min(ss, 59),
    );
    return new Date(ms).getUTCDate() === day ? ms : undefined;
  }
  return undefined;
}

/**
 * The wall-clock epoch ms at which a `Retry-After` header says to retry,
 * for {@link RateLimiter.pause}; `nowMs` when the date is already past;
 * undefined when the header is absent or not valid (then the caller keeps
 * its own backoff).
 *
 * @example
 * parseRetryAfter('120', clock.now());                            // clock.now() + 120_000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', clock.now());  // that instant (or now, if past)
 * parseRetryAfter('soon', clock.now());                           // undefined
 */
export function parseRetryAfter(headerValue: string | null | undefined, nowMs: number): number | undefined {
  if (typeof headerValue !== 'string') return undefined;
  const text = headerValue.trim();
  if (/^\d+$/.test(text)) return nowMs + Number(text) * 1000;
  const at = parseHttpDate(text, nowMs);
  return at === undefined ? undefined : Math.max(nowMs, at);
}
