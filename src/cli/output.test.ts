import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { relativeTime, shortAge, shortSchedule } from './output.ts';

const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);

describe('relativeTime', () => {
  it('shows ages in the past and waits in the future, in whole units', () => {
    assert.equal(relativeTime(NOW - 180_000, NOW), '3m ago');
    assert.equal(relativeTime(NOW + 40_000, NOW), 'in 40s');
    assert.equal(relativeTime(new Date(NOW - 2 * 3_600_000).toISOString(), NOW), '2h ago');
    assert.equal(relativeTime(NOW - 5 * 86_400_000, NOW), '5d ago');
    assert.equal(relativeTime(NOW - 400, NOW), 'now');
  });

  it('keeps two units of precision at the edges (90s, 90m, 36h)', () => {
    assert.equal(shortAge(90_000), '90s');
    assert.equal(shortAge(90 * 60_000), '90m');
    assert.equal(shortAge(36 * 3_600_000), '36h');
    assert.equal(shortAge(999), null);
  });

  it('passes text that is not a time through', () => {
    assert.equal(relativeTime('never', NOW), 'never');
  });
});

describe('shortSchedule', () => {
  it('shortens intervals and leaves cron and manual alone', () => {
    assert.equal(shortSchedule('every 60000 ms'), 'every 1m');
    assert.equal(shortSchedule('every 1500 ms'), 'every 1.5s');
    assert.equal(shortSchedule('cron 0 0 * * * (UTC)'), 'cron 0 0 * * * (UTC)');
    assert.equal(shortSchedule('manual'), 'manual');
  });
});
