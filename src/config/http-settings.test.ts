import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from './config-error.ts';
import { parseConfigText } from './load-config.ts';

// biome-ignore lint/suspicious/noTemplateCurlyInString: the config's ${VAR} interpolation, not a JS template
const TOKEN_FROM_ENV = '{ token: "${AUTOLOOP_TOKEN:-}" }';
const LOOPS = 'loops:\n  a: { trigger: { manual: true }, act: { command: "true" } }\n';
const parse = (http: string, env: Record<string, string> = {}) =>
  parseConfigText(`http: ${http}\n${LOOPS}`, { file: 'autoloop.yaml', env });

describe('http settings', () => {
  it('takes the admin token from the environment, and never echoes a bad one', async () => {
    const good = await parse(TOKEN_FROM_ENV, { AUTOLOOP_TOKEN: 'a-long-enough-secret-token' });
    assert.equal(good.http.token, 'a-long-enough-secret-token');
    const error = await parse(TOKEN_FROM_ENV, { AUTOLOOP_TOKEN: 'hunter2' }).catch((e) => e);
    assert.ok(error instanceof ConfigError);
    assert.match(
      error.message,
      /http\.token: expected a token of at least 16 characters .*got a token of 7 characters \(not shown\)/,
    );
    assert.doesNotMatch(error.message, /hunter2/);
  });

  it('an empty token turns the admin endpoints off; allowedHosts must be plain host names', async () => {
    assert.equal((await parse('{}')).http.token, '');
    await assert.rejects(
      parse('{ allowedHosts: ["*.example.com"] }'),
      /http\.allowedHosts\[0\]: expected a host name or IP address/,
    );
    assert.deepEqual((await parse('{ allowedHosts: ["dash.internal", "[::1]"] }')).http.allowedHosts, [
      'dash.internal',
      '[::1]',
    ]);
  });
});
