import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bearerToken } from './admin-auth.ts';

describe('bearerToken', () => {
  it('the credentials of a Bearer header, scheme case-insensitive', () => {
    assert.equal(bearerToken('Bearer abc.def'), 'abc.def');
    assert.equal(bearerToken('bearer   abc '), 'abc');
    assert.equal(bearerToken('BEARER abc'), 'abc');
  });

  it('undefined for anything else', () => {
    for (const header of [undefined, '', 'Bearer', 'Bearer ', 'Basic abc', 'abc', 'Bearer a b', 'Bearerabc']) {
      assert.equal(bearerToken(header), undefined, String(header));
    }
  });
});
