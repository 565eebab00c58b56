import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResolvedConfig } from '../config/load-config.ts';
import { clientToken, daemonToken, requireClientToken, tokenSource } from './admin-token.ts';
import { CliExit } from './context.ts';

function config(token: string, host = '127.0.0.1'): ResolvedConfig {
  return { file: '/srv/autoloop.yaml', http: { host, port: 0, token, allowedHosts: [] } } as unknown as ResolvedConfig;
}

const CONFIGURED = 'configured-token-0123456789';
const FROM_ENV = 'environment-token-0123456789';

describe('daemonToken: the token a starting instance accepts', () => {
  it('http.token first, then $AUTOLOOP_TOKEN, then a local one on loopback, else none', () => {
    assert.deepEqual(daemonToken(config(CONFIGURED), { AUTOLOOP_TOKEN: FROM_ENV }), {
      token: CONFIGURED,
      source: 'config',
    });
    assert.deepEqual(daemonToken(config(''), { AUTOLOOP_TOKEN: FROM_ENV }), { token: FROM_ENV, source: 'env' });
    const local = daemonToken(config(''), {});
    assert.equal(local.source, 'local');
    assert.ok(local.token.length >= 16);
    assert.notEqual(daemonToken(config(''), {}).token, local.token, 'a new one per instance');
    assert.deepEqual(daemonToken(config('', '0.0.0.0'), {}), { token: '', source: 'none' });
    assert.equal(tokenSource(config(''), {}), 'local', 'validate reports the source without making a token');
  });

  it('a $AUTOLOOP_TOKEN too short is a usage error that does not show it', () => {
    assert.throws(
      () => daemonToken(config(''), { AUTOLOOP_TOKEN: 'short-secret' }),
      (error: unknown) =>
        error instanceof CliExit &&
        error.code === 2 &&
        /^\$AUTOLOOP_TOKEN: expected a token of at least 16 characters, got a token of 12 characters \(not shown\)/.test(
          error.message,
        ) &&
        !error.message.includes('short-secret'),
    );
  });
});

describe('clientToken: the token an admin command sends', () => {
  it("the instance's own, then http.token, then the shell's $AUTOLOOP_TOKEN", () => {
    assert.equal(
      clientToken('from-the-file-0123456', config(CONFIGURED), { AUTOLOOP_TOKEN: FROM_ENV }),
      'from-the-file-0123456',
    );
    assert.equal(clientToken(undefined, config(CONFIGURED), { AUTOLOOP_TOKEN: FROM_ENV }), CONFIGURED);
    assert.equal(clientToken(undefined, config(''), { AUTOLOOP_TOKEN: FROM_ENV }), FROM_ENV);
    assert.throws(() => requireClientToken(undefined, config(''), {}, 'pause'), /pause: no admin token/);
  });
});
