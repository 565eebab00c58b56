import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRedactor } from './redact.ts';

describe('createRedactor', () => {
  it('removes the token, raw and JSON-escaped', () => {
    const redact = createRedactor(['s3cret"token\\value']);
    assert.equal(redact('a s3cret"token\\value b'), 'a *** b');
    assert.equal(redact(JSON.stringify({ error: 'x s3cret"token\\value' })), '{"error":"x ***"}');
  });

  it('removes URL passwords anywhere in the text', () => {
    const redact = createRedactor([]);
    assert.equal(
      redact('cannot reach redis://user:pa55@db:6379/0 or rediss://:p@h, see sqlite:///x?password=y&a=1'),
      'cannot reach redis://user:***@db:6379/0 or rediss://:***@h, see sqlite:///x?password=***&a=1',
    );
    assert.equal(redact('http://127.0.0.1:8080/health'), 'http://127.0.0.1:8080/health');
  });

  it('ignores empty and short tokens rather than corrupting every body', () => {
    assert.equal(createRedactor(['', 'abc'])('abc abc'), 'abc abc');
  });
});
