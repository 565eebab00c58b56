import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostAllowlist, hostName } from './host-allowlist.ts';
import { createRedactor } from './redact.ts';
import { createResponder } from './respond.ts';

describe('hostName', () => {
  it('the host of a Host header, without port or trailing dot', () => {
    assert.equal(hostName('LocalHost:8080'), 'localhost');
    assert.equal(hostName('localhost.'), 'localhost');
    assert.equal(hostName('127.0.0.1'), '127.0.0.1');
    assert.equal(hostName('[::1]:8080'), '[::1]');
    assert.equal(hostName('[::1]'), '[::1]');
  });

  it('undefined when malformed', () => {
    for (const bad of ['', 'a b', 'host:port', 'host:', '[::1', '[::1]x', 'a:1:2', 'evil.example/x', 'user@host']) {
      assert.equal(hostName(bad), undefined, bad);
    }
  });

  it('refuses an allowedHosts entry that is not a host name, naming it', () => {
    const out = createResponder(createRedactor([]));
    assert.throws(() => hostAllowlist({ bindHost: '127.0.0.1', allowedHosts: ['ok.example', '*.example.com'] }, out), {
      name: 'AutoloopError',
      message:
        'http.allowedHosts[1]: expected a host name or address like "autoloop.internal" or "10.0.0.5" (a port is ignored), got "*.example.com"',
    });
    for (const bindHost of ['0.0.0.0', '::', '::1', 'localhost', 'fe80::1'])
      hostAllowlist({ bindHost, allowedHosts: [] }, out);
  });
});
