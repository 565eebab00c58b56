/**
 * Gap classification, table-driven: missing, stale, invalid; each priority
 * rule; calendars at month ends, leap days and DST days (hourly keys in a
 * non-UTC zone); relative ends; due dates; and bad specs named by file and
 * path.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../src/config/config-error.ts';
import { classify } from '../src/recipes/reconcile/classify.ts';
import { type CoverageInput, resolveCoverage } from '../src/recipes/reconcile/coverage-spec.ts';
import { forEachExpected } from '../src/recipes/reconcile/expected-keys.ts';
import { HaveIndex } from '../src/recipes/reconcile/have-index.ts';

const SITE = { file: 'coverage.yaml', prefix: [], dir: '/tmp' };

function spec(input: CoverageInput) {
  return resolveCoverage(input, SITE);
}

function keysOf(input: CoverageInput, now: string): string[] {
  const out: string[] = [];
  for (const source of spec(input).sources) {
    forEachExpected(source, Date.parse(now), new Map(), (e) => out.push(e.key));
  }
  return out;
}

function have(objects: Array<[string, number, string]>): HaveIndex {
  const index = new HaveIndex();
  for (const [key, size, at] of objects) index.add(key, size, Date.parse(at));
  return index;
}

describe('reconcile: calendars', () => {
  const cases: Array<{
    name: string;
    input: CoverageInput;
    now: string;
    count: number;
    includes?: string[];
    excludes?: string[];
  }> = [
    {
      name: 'daily across month ends (Jan 31, Feb 29 of a leap year, Mar 1)',
      input: { sources: { a: { key: '{date}', dates: { from: '2024-01-30', to: '2024-03-01' } } } },
      now: '2024-06-01T00:00:00Z',
      count: 32,
      includes: ['2024-01-31', '2024-02-01', '2024-02-29', '2024-03-01'],
    },
    {
      name: 'a non-leap February has no 29th',
      input: { sources: { a: { key: '{date}', dates: { from: '2023-02-27', to: '2023-03-01' } } } },
      now: '2023-06-01T00:00:00Z',
      count: 3,
      excludes: ['2023-02-29'],
    },
    {
      name: 'relative ends: -30d to today is 31 days',
      input: { sources: { a: { key: '{date}', dates: { from: '-30d', to: 'today' } } } },
      now: '2024-03-15T12:00:00Z',
      count: 31,
      includes: ['2024-02-14', '2024-03-15'],
    },
    {
      name: 'future dates are not expected yet (to: +5d)',
      input: { sources: { a: { key: '{date}', dates: { from: '-2d', to: '+5d' } } } },
      now: '2024-03-15T12:00:00Z',
      count: 3,
      excludes: ['2024-03-16'],
    },
    {
      name: 'a delay of 30h: at noon today is not due, yesterday (begun 36 h ago) is',
      input: { sources: { a: { key: '{date}', dates: { from: '-3d', to: 'today' }, delay: '30h' } } },
      now: '2024-03-15T12:00:00Z',
      count: 3,
      includes: ['2024-03-12', '2024-03-14'],
      excludes: ['2024-03-15'],
    },
    {
      name: 'weekly steps from the start date',
      input: { sources: { a: { key: 'w/{date}', dates: { from: '2024-01-01', to: '2024-01-31', step: 'weekly' } } } },
      now: '2024-06-01T00:00:00Z',
      count: 5,
      includes: ['w/2024-01-29'],
    },
    {
      name: 'today in the zone: 03:00 UTC on Mar 1 is still Feb 29 in Los Angeles',
      input: {
        timezone: 'America/Los_Angeles',
        sources: { a: { key: '{date}', dates: { from: '2024-02-28', to: 'today' } } },
      },
      now: '2024-03-01T03:00:00Z',
      count: 2,
      excludes: ['2024-03-01'],
    },
    {
      name: 'hourly on a spring-forward day in New York: 23 keys, no 02:00',
      input: {
        timezone: 'America/New_York',
        sources: { a: { key: '{date}/{hour}', dates: { from: '2024-03-10', to: '2024-03-10', step: 'hourly' } } },
      },
      now: '2024-04-01T00:00:00Z',
      count: 23,
      includes: ['2024-03-10/01', '2024-03-10/03'],
      excludes: ['2024-03-10/02'],
    },
    {
      name: 'hourly on a fall-back day in New York: the repeated 01:00 is one key, 24 keys',
      input: {
        timezone: 'America/New_York',
        sources: {
          a: { key: '{date:YYYY/MM/DD/HH}', dates: { from: '2024-11-03', to: '2024-11-03', step: 'hourly' } },
        },
      },
      now: '2024-12-01T00:00:00Z',
      count: 24,
      includes: ['2024/11/03/01', '2024/11/03/23'],
    },
    {
      name: 'hourly on a Berlin DST day (Mar 31, 2024): 23 keys',
      input: {
        timezone: 'Europe/Berlin',
        sources: { a: { key: '{date}T{hour}', dates: { from: '2024-03-31', to: '2024-03-31', step: 'hourly' } } },
      },
      now: '2024-04-01T00:00:00Z',
      count: 23,
      excludes: ['2024-03-31T02'],
    },
    {
      name: 'hourly, due so far: 10:30 EDT on the spring-forward day has 00,01,03..10',
      input: {
        timezone: 'America/New_York',
        sources: { a: { key: '{date}/{hour}', dates: { from: 'today', to: 'today', step: 'hourly' } } },
      },
      now: '2024-03-10T14:30:00Z',
      count: 10,
      includes: ['2024-03-10/10'],
      excludes: ['2024-03-10/11'],
    },
    {
      name: 'hourly on a leap day in a half-hour zone (Asia/Kolkata): 24 keys',
      input: {
        timezone: 'Asia/Kolkata',
        sources: { a: { key: '{date}/{hour}', dates: { from: '2024-02-29', to: '2024-02-29', step: 'hourly' } } },
      },
      now: '2024-03-02T00:00:00Z',
      count: 24,
      includes: ['2024-02-29/00', '2024-02-29/23'],
    },
    {
      name: 'values: game dates with fields; a future game is not due; duplicates count once',
      input: {
        sources: {
          g: {
            key: '{source}/{season}/{date}-{game}.json',
            vars: { season: '2023-24' },
            values: [
              { date: '2024-02-28', game: 'a' },
              { date: '2024-02-29', game: 'b' },
              { date: '2024-02-29', game: 'b' },
              { date: '2024-12-25', game: 'c' },
            ],
          },
        },
      },
      now: '2024-03-01T00:00:00Z',
      count: 2,
      includes: ['g/2023-24/2024-02-29-b.json'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const keys = keysOf(c.input, c.now);
      assert.equal(keys.length, c.count, keys.join(' '));
      for (const k of c.includes ?? []) assert.ok(keys.includes(k), `expected ${k} in ${keys.join(' ')}`);
      for (const k of c.excludes ?? []) assert.ok(!keys.includes(k), `did not expect ${k}`);
    });
  }
});

describe('reconcile: gap classification', () => {
  const NOW = '2024-03-15T12:00:00Z';
  const base: CoverageInput = {
    sources: {
      s: {
        key: 's/{date}.json',
        dates: { from: '2024-03-10', to: 'today' },
        minSize: 100,
      },
    },
    priorities: [
      { within: '2d', priority: 'critical' },
      { within: '4d', priority: 'high' },
      { since: '2024-03-10', until: '2024-03-10', priority: 'medium' },
    ],
    freshness: [{ within: '1d', maxAge: '1h' }],
  };
  const cases: Array<{ name: string; objects: Array<[string, number, string]>; key: string; want: unknown }> = [
    { name: 'missing today is critical', objects: [], key: 's/2024-03-15.json', want: ['missing', 'critical'] },
    {
      name: 'missing yesterday is critical (within 2d)',
      objects: [],
      key: 's/2024-03-14.json',
      want: ['missing', 'critical'],
    },
    {
      name: 'missing 2 days ago is high (within 4d)',
      objects: [],
      key: 's/2024-03-13.json',
      want: ['missing', 'high'],
    },
    {
      name: 'missing 4 days ago falls past within 4d: the since/until rule',
      objects: [],
      key: 's/2024-03-11.json',
      want: ['missing', 'low'],
    },
    {
      name: 'missing on Mar 10 matches since/until: medium',
      objects: [],
      key: 's/2024-03-10.json',
      want: ['missing', 'medium'],
    },
    {
      name: 'present and large enough: no gap',
      objects: [['s/2024-03-12.json', 500, NOW]],
      key: 's/2024-03-12.json',
      want: null,
    },
    {
      name: 'smaller than minSize is invalid',
      objects: [['s/2024-03-12.json', 99, NOW]],
      key: 's/2024-03-12.json',
      want: ['invalid', 'high'],
    },
    {
      name: "today's file modified 2h ago is stale (freshness 1h within 1d)",
      objects: [['s/2024-03-15.json', 500, '2024-03-15T10:00:00Z']],
      key: 's/2024-03-15.json',
      want: ['stale', 'critical'],
    },
    {
      name: "today's file modified 30 min ago is fresh",
      objects: [['s/2024-03-15.json', 500, '2024-03-15T11:30:00Z']],
      key: 's/2024-03-15.json',
      want: null,
    },
    {
      name: "yesterday's old file is not subject to freshness (within 1d is today only)",
      objects: [['s/2024-03-14.json', 500, '2024-03-14T01:00:00Z']],
      key: 's/2024-03-14.json',
      want: null,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const result = classify(spec(base), have(c.objects), Date.parse(NOW));
      const gap = result.gaps.find((g) => g.key === c.key);
      assert.deepEqual(gap ? [gap.reason, gap.priority] : null, c.want, JSON.stringify(gap));
    });
  }

  it('counts coverage per source and sorts gaps critical first, newest date first', () => {
    const result = classify(spec(base), have([['s/2024-03-12.json', 500, NOW]]), Date.parse(NOW));
    assert.deepEqual(result.coverage, [{ source: 's', expected: 6, present: 1, missing: 5, stale: 0, invalid: 0 }]);
    assert.deepEqual(
      result.gaps.map((g) => g.key),
      ['s/2024-03-15.json', 's/2024-03-14.json', 's/2024-03-13.json', 's/2024-03-10.json', 's/2024-03-11.json'],
    );
    const today = result.gaps[0];
    assert.equal(today?.date, '2024-03-15');
    assert.equal(today?.fields.source, 's');
    assert.match(today?.detail ?? '', /no object/);
  });

  it('a DST day is one whole day for `within` (New York, the day after spring forward, 23:30)', () => {
    const s = spec({
      timezone: 'America/New_York',
      sources: { s: { key: '{date}', dates: { from: '2024-03-08', to: 'today' } } },
      priorities: [{ within: '2d', priority: 'critical' }],
    });
    // 2024-03-11 23:30 EDT: Mar 10 (23 hours long) began 48.5 h ago, but it is still "yesterday".
    const result = classify(s, new HaveIndex(), Date.parse('2024-03-12T03:30:00Z'));
    const byKey = Object.fromEntries(result.gaps.map((g) => [g.key, g.priority]));
    assert.deepEqual(byKey, {
      '2024-03-11': 'critical',
      '2024-03-10': 'critical',
      '2024-03-09': 'low',
      '2024-03-08': 'low',
    });
  });

  it('hourly entries age by the hour: within 3h marks the last three hours critical', () => {
    const s = spec({
      timezone: 'Europe/Berlin',
      sources: { h: { key: '{date}/{hour}', dates: { from: 'today', to: 'today', step: 'hourly' } } },
      priorities: [{ within: '3h', priority: 'critical' }],
    });
    // 10:30 CET.
    const result = classify(s, new HaveIndex(), Date.parse('2024-01-15T09:30:00Z'));
    const critical = result.gaps.filter((g) => g.priority === 'critical').map((g) => g.key);
    assert.deepEqual(critical, ['2024-01-15/10', '2024-01-15/09', '2024-01-15/08']);
    assert.equal(result.gaps.length, 11);
  });

  it('per-source rules and `sources:` conditions', () => {
    const s = spec({
      sources: {
        a: { key: 'a/{date}', dates: { from: 'today', to: 'today' }, priority: 'medium' },
        b: { key: 'b/{date}', dates: { from: 'today', to: 'today' }, priorities: [{ priority: 'high' }] },
        c: { key: 'c/{value}', values: ['x'] },
      },
      priorities: [{ sources: ['c'], priority: 'critical' }],
    });
    const result = classify(s, new HaveIndex(), Date.parse(NOW));
    const byKey = Object.fromEntries(result.gaps.map((g) => [g.key, g.priority]));
    assert.deepEqual(byKey, { 'a/2024-03-15': 'medium', 'b/2024-03-15': 'high', 'c/x': 'critical' });
  });
});

describe('reconcile: bad specs name the file, the path and what was expected', () => {
  const cases: Array<{ name: string; input: unknown; message: RegExp }> = [
    {
      name: 'a date that does not exist',
      input: { sources: { a: { key: '{date}', dates: { from: '2023-02-29' } } } },
      message:
        /coverage\.yaml: sources\.a\.dates\.from: expected a date like 2024-10-22, today, yesterday or -30d, got "2023-02-29"/,
    },
    {
      name: 'an unknown placeholder',
      input: { sources: { a: { key: '{source}/{season}/{date}', dates: { from: '-1d' } } } },
      message: /coverage\.yaml: sources\.a\.key: expected placeholders from: .*got \{season\}/,
    },
    {
      name: 'neither dates nor values',
      input: { sources: { a: { key: '{source}' } } },
      message: /sources\.a: expected exactly one of `dates` \(a calendar\) or `values` \(a list\), got neither/,
    },
    {
      name: 'an hourly calendar without the hour in the key',
      input: { sources: { a: { key: '{date}', dates: { from: '-1d', step: 'hourly' } } } },
      message: /sources\.a\.key: expected a template with the hour/,
    },
    {
      name: 'an unknown time zone',
      input: { timezone: 'Mars/Olympus', sources: { a: { key: '{date}', dates: { from: '-1d' } } } },
      message: /coverage\.yaml: timezone: expected an IANA time zone/,
    },
    {
      name: 'a misspelt key',
      input: { sources: { a: { key: '{date}', dates: { from: '-1d' }, minsize: 3 } } },
      message: /sources\.a: unknown key "minsize"/,
    },
    {
      name: 'a bad priority',
      input: { sources: { a: { key: '{date}', dates: { from: '-1d' } } }, priorities: [{ priority: 'urgent' }] },
      message: /priorities\[0\]\.priority: expected one of "critical", "high", "medium", "low", got "urgent"/,
    },
    {
      name: 'an unbalanced brace',
      input: { sources: { a: { key: '{date', dates: { from: '-1d' } } } },
      message: /sources\.a\.key: .*unbalanced brace/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.throws(
        () => resolveCoverage(c.input, SITE),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, String(error));
          assert.match(error.message, c.message);
          return true;
        },
      );
    });
  }

  it('inline specs name the loop path in the config', () => {
    assert.throws(
      () =>
        resolveCoverage({ sources: {} }, { file: 'autoloop.yaml', prefix: ['loops', 'collect', 'coverage'], dir: '/' }),
      /autoloop\.yaml: loops\.collect\.coverage\.sources: expected at least one source, got none/,
    );
  });
});
