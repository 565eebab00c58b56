import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigIssue } from './config-error.ts';
import { durationMs, loopSchemas } from './schema.ts';
import { validate } from './zod-issues.ts';

const { policies: policiesSchema, trigger: triggerSchema } = loopSchemas();

function ok<T>(result: { ok: true; value: T } | { ok: false; issues: ConfigIssue[] }): T {
  assert.ok(result.ok, result.ok ? '' : result.issues.map((i) => `${i.path}: ${i.expected}, got ${i.got}`).join('\n'));
  return result.value;
}

function issues(result: {
  ok: boolean;
  issues?: ConfigIssue[];
}): Array<Pick<ConfigIssue, 'path' | 'expected' | 'got'>> {
  assert.equal(result.ok, false);
  return (result.issues ?? []).map(({ path, expected, got }) => ({ path, expected, got }));
}

describe('durationMs', () => {
  it('normalises strings and numbers to ms', () => {
    const schema = durationMs();
    for (const [input, ms] of [
      ['250ms', 250],
      ['30s', 30_000],
      ['2m', 120_000],
      ['1h30m', 5_400_000],
      ['1d', 86_400_000],
      [1500, 1500],
      ['1500', 1500],
      [0, 0],
    ] as const) {
      assert.equal(ok(validate(schema, input, 'f')), ms, String(input));
    }
  });

  it('rejects what is not a duration, and values under the minimum', () => {
    const expected = 'a duration like "30s", "2m" or 1500 (ms)';
    assert.deepEqual(issues(validate(durationMs(), '5 minutes', 'f')), [{ path: '', expected, got: '"5 minutes"' }]);
    assert.deepEqual(issues(validate(durationMs(), -1, 'f')), [{ path: '', expected, got: '-1' }]);
    assert.deepEqual(issues(validate(durationMs(), true, 'f')), [{ path: '', expected, got: 'true' }]);
    assert.deepEqual(issues(validate(durationMs({ minMs: 1 }), '0s', 'f')), [
      { path: '', expected: `${expected} of at least 1 ms`, got: '"0s"' },
    ]);
  });
});

describe('triggerSchema', () => {
  it('resolves each kind, defaulting the time zone to UTC and overlap to skip', () => {
    assert.deepEqual(ok(validate(triggerSchema, { cron: '*/5 * * * *' }, 'f')), {
      trigger: { kind: 'cron', expression: '*/5 * * * *', timezone: 'UTC' },
      overlap: 'skip',
      missed: 'skip',
    });
    assert.deepEqual(ok(validate(triggerSchema, { interval: '30s', overlap: 'queue-one' }, 'f')), {
      trigger: { kind: 'interval', everyMs: 30_000 },
      overlap: 'queue-one',
      missed: 'skip',
    });
    assert.deepEqual(ok(validate(triggerSchema, { manual: true }, 'f')).trigger, { kind: 'manual' });
  });

  it("accepts croner's grammar: seconds, nicknames, time zones", () => {
    for (const cron of ['*/10 * * * * *', '@hourly', '0 9 * * MON-FRI']) {
      ok(validate(triggerSchema, { cron, timezone: 'America/New_York' }, 'f'));
    }
  });

  it('rejects a timezone without cron, manual: false, and a non-mapping', () => {
    const [tz] = issues(validate(triggerSchema, { interval: '1m', timezone: 'UTC' }, 'f', ['trigger']));
    assert.equal(tz?.path, 'trigger.timezone');
    assert.deepEqual(issues(validate(triggerSchema, { manual: false }, 'f')), [
      { path: 'manual', expected: 'true (the loop runs only when asked)', got: 'false' },
    ]);
    assert.deepEqual(issues(validate(triggerSchema, 'hourly', 'f', ['trigger'])), [
      {
        path: 'trigger',
        expected: 'a trigger like { cron: "*/1 * * * *" }, { interval: 30s } or { manual: true }',
        got: 'string "hourly"',
      },
    ]);
  });
});

describe('policiesSchema', () => {
  it('fills the defaults', () => {
    assert.deepEqual(ok(validate(policiesSchema, undefined, 'f')), {
      timeoutMs: 30_000,
      retry: { attempts: 1, baseMs: 1_000, maxMs: 30_000 },
      concurrency: 10,
      lease: true,
      order: 'longest-first',
      uses: [],
      adaptive: null,
      backpressure: { after: 3, cooldownTicks: 2 },
    });
  });

  it('raises the default backoff cap to a longer explicit backoff', () => {
    assert.deepEqual(ok(validate(policiesSchema, { retry: { backoff: '2m' } }, 'f')).retry, {
      attempts: 1,
      baseMs: 120_000,
      maxMs: 120_000,
    });
  });

  it('rejects a maxBackoff below the backoff, zero concurrency and fractional attempts', () => {
    assert.deepEqual(issues(validate(policiesSchema, { retry: { backoff: '1m', maxBackoff: '10s' } }, 'f')), [
      { path: 'retry.maxBackoff', expected: 'a maxBackoff of at least the backoff (60000 ms)', got: '10000 ms' },
    ]);
    assert.deepEqual(issues(validate(policiesSchema, { concurrency: 0, retry: { attempts: 1.5 } }, 'f')), [
      { path: 'retry.attempts', expected: 'an integer', got: 'number 1.5' },
      { path: 'concurrency', expected: 'a number >= 1', got: '0' },
    ]);
  });
});
