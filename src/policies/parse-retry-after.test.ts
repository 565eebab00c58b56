import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRetryAfter } from './parse-retry-after.ts';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('parseRetryAfter', () => {
  it('reads delay-seconds relative to now', () => {
    assert.equal(parseRetryAfter('120', NOW), NOW + 120_000);
    assert.equal(parseRetryAfter(' 0 ', NOW), NOW);
  });

  it('reads the three HTTP-date formats', () => {
    const at = Date.UTC(2026, 0, 1, 12, 5, 30);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 12:05:30 GMT', NOW), at);
    assert.equal(parseRetryAfter('Thursday, 01-Jan-26 12:05:30 GMT', NOW), at);
    assert.equal(parseRetryAfter('Thu Jan  1 12:05:30 2026', NOW), at);
    assert.equal(parseRetryAfter('Thu Jan 15 12:05:30 2026', NOW), Date.UTC(2026, 0, 15, 12, 5, 30));
  });

  it('a past date means now', () => {
    assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', NOW), NOW);
  });

  it('reads a two-digit year more than 50 years ahead as the past century', () => {
    assert.equal(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', NOW), NOW, '1994, not 2094, so already past');
    assert.equal(parseRetryAfter('Monday, 01-Jan-30 00:00:00 GMT', NOW), Date.UTC(2030, 0, 1));
  });

  it('returns undefined for anything else', () => {
    for (const bad of [
      undefined,
      null,
      '',
      'soon',
      '-5',
      '1.5',
      'Jan 2026',
      'Mon, 30 Feb 2026 00:00:00 GMT',
      'Thu, 01 Jan 2026 25:00:00 GMT',
      'Thu, 01 Jan 2026 12:05:30 UTC',
    ]) {
      assert.equal(parseRetryAfter(bad, NOW), undefined, `for ${String(bad)}`);
    }
  });
});
