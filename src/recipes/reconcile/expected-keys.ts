/**
 * SHOULD: a source's expected entries at an instant, streamed to a visitor
 * so a million keys are never held as objects at once.
 *
 * An entry is expected once it is due: its period (the hour, or the local
 * day) has begun, plus the source's `delay`. Future dates of a calendar or a
 * values list (a season's later games) are not gaps yet.
 */
import { civil, DAY_MS, hoursOf, parseIsoDate, resolveDate, startOfDay, today, twoDigits } from './calendar.ts';
import type { SourceSpec } from './coverage-spec.ts';
import type { EntryFields } from './key-template.ts';

/** One expected object. The entry and its `fields` may be reused by the next call: copy what you keep. */
export interface ExpectedEntry {
  readonly source: SourceSpec;
  readonly key: string;
  /** The civil date of the entry (day number), or null for an entry without a date. */
  readonly day: number | null;
  /** For an hourly entry, the instant its hour began; else null. */
  readonly hourAt: number | null;
  readonly fields: EntryFields;
}

/** Values of a source read from a file or a command, by source name (lists are in the spec itself). */
export type LoadedValues = ReadonlyMap<string, ReadonlyArray<Readonly<Record<string, string>>>>;

/**
 * Calls `visit` with every entry of `source` due at `now`, in calendar (or
 * list) order. A key that two entries render alike (a fall-back day's
 * repeated hour, a duplicate value) is visited once. Throws when a key
 * template reads a field an entry lacks (values from a file or command).
 */
export function forEachExpected(
  source: SourceSpec,
  now: number,
  loaded: LoadedValues,
  visit: (entry: ExpectedEntry) => void,
): void {
  const todayDay = today(now, source.timezone);
  const due = dueCheck(source, now, todayDay);
  const base: Record<string, string> = { ...source.vars, source: source.name };
  // Distinct dates render distinct keys when the template holds the whole date: no set of keys seen is
  // needed then (a million strings saved). Hourly keys (a fall-back day's repeated hour) and values lists
  // (duplicates) always need one.
  const daily = source.dates !== null && source.dates.step !== 'hourly';
  const seen = daily && source.key.readsWholeDate ? null : new Set<string>();
  // One entry object, rewritten per key (a million short-lived objects are what the collector would
  // otherwise sweep); visitors copy what they keep.
  const entry: { -readonly [K in keyof ExpectedEntry]: ExpectedEntry[K] } = {
    source,
    key: '',
    day: null,
    hourAt: null,
    fields: base,
  };
  const emit = (fields: EntryFields, day: number | null, hourAt: number | null) => {
    const key = source.key.render(fields);
    if (seen) {
      if (seen.has(key)) return;
      seen.add(key);
    }
    entry.key = key;
    entry.day = day;
    entry.hourAt = hourAt;
    entry.fields = fields;
    visit(entry);
  };
  const dated = dayFieldsWriter(base);
  if (source.dates) {
    const from = resolveDate(source.dates.from, todayDay) as number;
    const to = resolveDate(source.dates.to, todayDay) as number;
    const step = source.dates.step === 'weekly' ? 7 : 1;
    for (let day = from; day <= to; day += step) {
      if (source.dates.step === 'hourly') {
        const fields = { ...dated(day) };
        for (const { at, hour } of hoursOf(day, source.timezone)) {
          if (at + source.delayMs > now) break;
          emit({ ...fields, hour: String(hour).padStart(2, '0') }, day, at);
        }
        continue;
      }
      if (!due(day)) continue;
      emit(dated(day), day, null);
    }
    return;
  }
  const values = source.values?.kind === 'list' ? source.values.entries : (loaded.get(source.name) ?? []);
  for (const value of values) {
    const day = value.date === undefined ? null : (parseIsoDate(value.date) ?? null);
    if (day !== null && !due(day)) continue;
    emit({ ...base, ...value }, day, null);
  }
}

/**
 * A function giving `{ ...base, date, year, month, day }` for a civil date,
 * as one record rewritten per call (the caller copies it to keep it).
 */
function dayFieldsWriter(base: Record<string, string>): (day: number) => EntryFields {
  const fields: Record<string, string> = { date: '', year: '', month: '', day: '', ...base };
  const clashes = ['date', 'year', 'month', 'day'].filter((name) => name in base); // a var of that name wins
  return (day) => {
    const c = civil(day);
    const year = String(c.year).padStart(4, '0');
    const month = twoDigits(c.month);
    const dd = twoDigits(c.day);
    fields.date = `${year}-${month}-${dd}`;
    fields.year = year;
    fields.month = month;
    fields.day = dd;
    for (const name of clashes) fields[name] = base[name] as string;
    return fields;
  };
}

/**
 * Whether a date-keyed entry is due. Days well before today are due and
 * days after it are not, without asking the time zone; only the few days
 * near today (within the delay) need the instant their local day began.
 */
function dueCheck(source: SourceSpec, now: number, todayDay: number): (day: number) => boolean {
  const sureBefore = todayDay - 1 - Math.ceil(source.delayMs / DAY_MS);
  const cache = new Map<number, boolean>();
  return (day) => {
    if (day > todayDay) return false;
    if (day < sureBefore) return true;
    let due = cache.get(day);
    if (due === undefined) {
      due = startOfDay(day, source.timezone) + source.delayMs <= now;
      cache.set(day, due);
    }
    return due;
  };
}
