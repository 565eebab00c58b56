/**
 * Civil dates and wall-clock hours in an IANA time zone, without a date
 * library: what the coverage spec's calendars expand into.
 *
 * A civil date is a day number (days since 1970-01-01 in the proleptic
 * Gregorian calendar), so date arithmetic is integer arithmetic and never
 * meets a DST change. Only two questions need the time zone: which civil
 * date and hour an instant falls on (`localParts`), and which instants the
 * wall-clock hours of a date are (`hoursOf`). Both go through
 * `Intl.DateTimeFormat`, which carries the tz database.
 *
 * DST, as the hourly calendar sees it: a spring-forward day has 23 hours
 * (the skipped hour is never expected), a fall-back day's repeated hour is
 * one wall-clock hour (so one key, unless a template asks for the offset).
 */

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;

/** The local date and time of an instant. */
export interface LocalParts {
  /** The civil date as a day number. */
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether `timeZone` is an IANA zone this runtime knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The civil date, hour and minute of `instant` (epoch ms) in `timeZone`. */
export function localParts(instant: number, timeZone: string): LocalParts {
  let year = 0;
  let month = 0;
  let day = 0;
  let hour = 0;
  let minute = 0;
  for (const part of formatter(timeZone).formatToParts(instant)) {
    if (part.type === 'year') year = Number(part.value);
    else if (part.type === 'month') month = Number(part.value);
    else if (part.type === 'day') day = Number(part.value);
    else if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
  }
  return { day: dayNumber(year, month, day), hour, minute };
}

/** The day number of a civil date (month 1-12). */
export function dayNumber(year: number, month: number, day: number): number {
  return Math.floor(Date.UTC(year, month - 1, day) / DAY_MS);
}

/**
 * The civil date of a day number: integer arithmetic (H. Hinnant's
 * days-to-civil), no Date object, as a million keys are rendered per scan.
 */
export function civil(day: number): { year: number; month: number; day: number } {
  const z = day + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (m <= 2 ? 1 : 0), month: m, day: d };
}

const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));

/** `00`..`99`. */
export function twoDigits(n: number): string {
  return TWO_DIGITS[n] as string;
}

/** `YYYY-MM-DD` of a day number (years 0-9999). */
export function isoDate(day: number): string {
  const c = civil(day);
  return `${String(c.year).padStart(4, '0')}-${TWO_DIGITS[c.month]}-${TWO_DIGITS[c.day]}`;
}

/** The day number of a `YYYY-MM-DD` string that names a real date, else undefined (2023-02-29 is not one). */
export function parseIsoDate(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const n = dayNumber(year, month, day);
  const back = civil(n);
  return back.year === year && back.month === month && back.day === day ? n : undefined;
}

/** The civil date it is at `instant` in `timeZone` ("today"). */
export function today(instant: number, timeZone: string): number {
  return localParts(instant, timeZone).day;
}

/**
 * The instants (epoch ms) at which the wall-clock hours of civil date `day`
 * begin in `timeZone`, with their hour, in order. 24 on most days, 23 on a
 * spring-forward day; on a fall-back day the repeated hour appears twice
 * (callers that key by wall-clock hour keep one).
 *
 * Zones with a half-hour offset are handled too: the instants are then on
 * the half hour in UTC.
 */
export function hoursOf(day: number, timeZone: string): Array<{ at: number; hour: number }> {
  // Every UTC instant that can fall on this local date lies within [day - 14h, day + 38h]; step by an
  // hour from a start aligned with the zone's minutes, so each local hour is met at its start.
  const from = day * DAY_MS - 14 * HOUR_MS;
  const minute = localParts(from, timeZone).minute;
  const out: Array<{ at: number; hour: number }> = [];
  for (let at = from - minute * 60_000; at < day * DAY_MS + 38 * HOUR_MS; at += HOUR_MS) {
    const local = localParts(at, timeZone);
    if (local.day === day) out.push({ at: at - local.minute * 60_000, hour: local.hour });
  }
  return out;
}

/** The instant local midnight of `day` begins in `timeZone` (the first hour's start when midnight is skipped). */
export function startOfDay(day: number, timeZone: string): number {
  return (hoursOf(day, timeZone)[0] as { at: number }).at;
}

/**
 * A date as the coverage spec writes it: `YYYY-MM-DD`, `today`,
 * `yesterday`, or relative to today (`-30d`, `+2d`, `-1w`). Returns the day
 * number, or undefined when the text is none of those.
 */
export function resolveDate(text: string, todayDay: number): number | undefined {
  if (text === 'today') return todayDay;
  if (text === 'yesterday') return todayDay - 1;
  const rel = /^([+-])(\d+)([dw])$/.exec(text);
  if (rel) {
    const n = Number(rel[2]) * (rel[3] === 'w' ? 7 : 1);
    return rel[1] === '-' ? todayDay - n : todayDay + n;
  }
  return parseIsoDate(text);
}
