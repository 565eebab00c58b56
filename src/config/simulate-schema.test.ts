import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from './config-error.ts';
import { parseConfigText } from './load-config.ts';

const BASE = 'loops:\n  a:\n    trigger: { interval: 10s }\n    items: [x]\n    act: { command: "true" }\n';
const parse = (extra: string) => parseConfigText(BASE + extra, { env: {}, file: 'autoloop.yaml' });

describe('simulate: and slo: keys', () => {
  it('resolve with durations in ms and percentages as fractions; absent keys resolve to null', async () => {
    const config = await parse(
      'simulate:\n  loops:\n    a: { latency: { p50: 200ms, p99: 2s }, failureRate: 0.1, throttle: { every: 6h, for: [1m, 2m] } }\n  faults: chaos-light\nslo: { lost: 0, duplicates: 0, takeover: 15s, ticksRun: 99.9% }\n',
    );
    assert.deepEqual(config.simulate?.loops.a?.latency, { kind: 'lognormal', p50Ms: 200, p99Ms: 2_000 });
    assert.deepEqual(config.simulate?.loops.a?.throttle, {
      every: 21_600_000,
      for: { minMs: 60_000, maxMs: 120_000 },
      rate: 1,
    });
    assert.equal(config.simulate?.faults, 'chaos-light');
    assert.deepEqual(config.slo, { lost: 0, duplicates: 0, takeover: 15_000, ticksRun: 0.999 });
    const plain = await parse('');
    assert.equal(plain.simulate, null);
    assert.equal(plain.slo, null);
  });

  it('bad values name the path and what was expected', async () => {
    await assert.rejects(
      parse('simulate:\n  loops:\n    a: { failureRate: 2 }\nslo: { ticksRun: lots }\n'),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /simulate\.loops\.a\.failureRate/);
        assert.match(error.message, /slo\.ticksRun/);
        return true;
      },
    );
  });
});
