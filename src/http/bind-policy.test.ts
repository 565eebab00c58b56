import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLoopbackHost, isProbeRoute, skipsHostCheck } from './bind-policy.ts';

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

  it('probe routes: health checks and metrics, not the detailed snapshot', () => {
    for (const path of [
      '/health',
      '/health/',
      '/health/live',
      '/health/ready',
      '/health/store',
      '/metrics',
      '/metrics/',
    ]) {
      assert.equal(isProbeRoute(path), true, path);
    }
    for (const path of [
      '/health/detailed',
      '/health/detailed/',
      '/status',
      '/events',
      '/',
      '/tasks',
      '/health/a/b',
      '/metricsx',
    ]) {
      assert.equal(isProbeRoute(path), false, path);
    }
  });

  it('the Host check is skipped only for GET/HEAD of a probe route on a non-loopback bind', () => {
    assert.equal(skipsHostCheck('0.0.0.0', 'GET', '/health/ready'), true);
    assert.equal(skipsHostCheck('::', 'HEAD', '/metrics'), true);
    assert.equal(skipsHostCheck('10.1.2.3', 'GET', '/health'), true);
    assert.equal(skipsHostCheck('127.0.0.1', 'GET', '/metrics'), false, 'loopback: nothing needs another name');
    assert.equal(skipsHostCheck('0.0.0.0', 'POST', '/metrics'), false);
    assert.equal(skipsHostCheck('0.0.0.0', 'GET', '/health/detailed'), false);
    assert.equal(skipsHostCheck('0.0.0.0', 'GET', '/status'), false);
    assert.equal(skipsHostCheck('0.0.0.0', 'POST', '/shutdown'), false);
  });
});
