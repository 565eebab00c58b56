import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertSafeBind, isLoopbackHost, UnsafeBindError } from './bind-policy.ts';

describe('bind policy', () => {
  it('loopback: localhost, 127.0.0.0/8, ::1', () => {
    for (const host of [
      'localhost',
      'LOCALHOST',
      '127.0.0.1',
      '127.1.2.3',
      '127.255.255.255',
      '::1',
      '[::1]',
      '::ffff:127.0.0.1',
    ]) {
      assert.equal(isLoopbackHost(host), true, host);
    }
    for (const host of [
      '0.0.0.0',
      '::',
      '',
      '10.0.0.1',
      '128.0.0.1',
      '127.0.0.256',
      '127.0.0',
      'localhost.example',
      'example.com',
      '::2',
    ]) {
      assert.equal(isLoopbackHost(host), false, host);
    }
  });

  it('refuses a non-loopback bind without a token, with the fix in the message', () => {
    assert.throws(() => assertSafeBind('0.0.0.0', 8080, false), {
      name: 'UnsafeBindError',
      message:
        'http: refusing to listen on 0.0.0.0:8080 without http.token (admin endpoints would be open to the network); set http.token or bind 127.0.0.1',
    });
    assert.throws(
      () => assertSafeBind('::', 9000, false),
      (e: unknown) => e instanceof UnsafeBindError && e.message.includes('[::]:9000'),
    );
    assertSafeBind('0.0.0.0', 8080, true);
    assertSafeBind('127.0.0.1', 8080, false);
    assertSafeBind('localhost', 8080, false);
  });
});
