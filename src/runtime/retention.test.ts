import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../config/load-config.ts';
import { MemoryStore } from '../storage/memory/memory-store.ts';
import { VirtualClock } from '../time/virtual-clock.ts';
import { PRUNE_EVERY_MS, Retention } from './retention.ts';

const DAY = 24 * 60 * 60 * 1000;
const silent = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, fatal() {}, child: () => silent } as never;

function record(id: string, startedAt: number) {
  return {
    id,
    loop: 'signals',
    tickId: `signals@${id}`,
    trigger: 'cron' as const,
    scheduledAt: startedAt,
    startedAt,
    finishedAt: startedAt + 10,
    steps: {},
    counts: { planned: 0, succeeded: 0, failed: 0, skipped: 0 },
    outcome: { kind: 'ok' as const },
    owner: 'h:1:a',
  };
}

describe('Retention', () => {
  it('prunes records and events older than keepMs at start, then every hour as the clock moves', async () => {
    const clock = new VirtualClock({ now: 10 * DAY });
    const store = new MemoryStore();
    await store.cycles.start(record('old', 10 * DAY - 3 * DAY));
    await store.cycles.start(record('recent', 10 * DAY - DAY / 2));
    await store.events.append([{ at: 10 * DAY - 3 * DAY, type: 'cycle.started', loop: 'signals', data: {} }]);
    const retention = new Retention({ clock, store: () => store, keepMs: DAY, logger: silent });
    const abort = new AbortController();
    const run = retention.run(abort.signal);
    await clock.flush();
    assert.equal(await store.cycles.get('old'), undefined);
    assert.ok(await store.cycles.get('recent'));
    assert.deepEqual(await store.events.latest(), []);
    // 'recent' is 12 h old: a day later, at an hourly prune, it goes too.
    await clock.advance(DAY);
    assert.equal(await store.cycles.get('recent'), undefined);
    abort.abort();
    await run;
  });

  it('skips a prune while the store is unavailable, and reports a failed one without stopping', async () => {
    const clock = new VirtualClock({ now: DAY });
    const failures: unknown[] = [];
    let calls = 0;
    let down = true;
    const store = {
      prune: async () => {
        calls++;
        throw new Error('store down');
      },
    };
    const retention = new Retention({
      clock,
      store: () => store,
      keepMs: DAY,
      logger: silent,
      unavailable: () => (down ? 'store unavailable' : undefined),
      onFailure: (error) => failures.push(error),
    });
    const abort = new AbortController();
    const run = retention.run(abort.signal);
    await clock.flush();
    assert.equal(calls, 0, 'not tried while the breaker is open');
    down = false;
    await clock.advance(PRUNE_EVERY_MS);
    assert.equal(calls, 1);
    assert.equal(failures.length, 1);
    await clock.advance(PRUNE_EVERY_MS);
    assert.equal(calls, 2, 'tried again the next hour');
    abort.abort();
    await run;
  });

  it('`retention: 30d` in autoloop.yaml; absent means kept forever; below a minute is refused', async () => {
    const yaml = (extra: string) =>
      `${extra}\nloops:\n  a:\n    trigger: { interval: 1m }\n    act: { command: "true" }\n`;
    const env = { PATH: process.env.PATH ?? '' };
    assert.equal((await parseConfigText(yaml('retention: 30d'), { file: 'autoloop.yaml', env })).retentionMs, 30 * DAY);
    assert.equal((await parseConfigText(yaml(''), { file: 'autoloop.yaml', env })).retentionMs, null);
    await assert.rejects(parseConfigText(yaml('retention: 5s'), { file: 'autoloop.yaml', env }), /retention/);
  });
});
