import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../time/virtual-clock.ts';
import { backgroundTask, type Runnable } from './runnable.ts';
import { RunnableGroup } from './runnable-group.ts';

function recorder() {
  const log: string[] = [];
  const part = (name: string, extra: Partial<Runnable> = {}): Runnable => ({
    name,
    start: () => {
      log.push(`start ${name}`);
    },
    stop: () => {
      log.push(`stop ${name}`);
    },
    ...extra,
  });
  return { log, part };
}

describe('RunnableGroup', () => {
  it('starts in dependency order (ties keep insertion order) and stops in reverse', async () => {
    const { log, part } = recorder();
    const group = new RunnableGroup({ clock: new VirtualClock() });
    group
      .add(part('http', { after: ['metrics'] }))
      .add(part('store'))
      .add(part('metrics', { after: ['store'] }));
    group.add(part('schedulers', { after: ['http'] }));
    assert.deepEqual(group.order(), ['store', 'metrics', 'http', 'schedulers']);
    await group.start();
    assert.deepEqual(group.started, ['store', 'metrics', 'http', 'schedulers']);
    await group.stop(1_000);
    assert.deepEqual(log, [
      'start store',
      'start metrics',
      'start http',
      'start schedulers',
      'stop schedulers',
      'stop http',
      'stop metrics',
      'stop store',
    ]);
    assert.equal(group.state, 'stopped');
  });

  it('a failure during start stops what already started, in reverse, and names the part', async () => {
    const { log, part } = recorder();
    const group = new RunnableGroup({ clock: new VirtualClock() });
    group.add(part('store')).add(part('metrics'));
    group.add(part('http', { start: () => Promise.reject(new Error('EADDRINUSE 127.0.0.1:8080')) }));
    group.add(part('schedulers'));
    await assert.rejects(group.start(), /start http: EADDRINUSE 127\.0\.0\.1:8080/);
    assert.deepEqual(log, ['start store', 'start metrics', 'stop metrics', 'stop store']);
    assert.equal(group.state, 'stopped');
  });

  it('rejects an unknown dependency and a cycle before starting anything', async () => {
    const { log, part } = recorder();
    const unknown = new RunnableGroup({ clock: new VirtualClock() }).add(part('a', { after: ['nope'] }));
    await assert.rejects(unknown.start(), /runnable "a" starts after "nope", which is not in the group/);
    const cyclic = new RunnableGroup({ clock: new VirtualClock() })
      .add(part('a', { after: ['b'] }))
      .add(part('b', { after: ['a'] }));
    await assert.rejects(cyclic.start(), /in a cycle: a -> b -> a/);
    assert.deepEqual(log, []);
    assert.throws(
      () => new RunnableGroup({ clock: new VirtualClock() }).add(part('x')).add(part('x')),
      /two runnables/,
    );
  });

  it('one deadline covers the whole stop: parts stopped after it see an aborted signal', async () => {
    const clock = new VirtualClock();
    const seen: Array<[string, boolean]> = [];
    const slow: Runnable = {
      name: 'slow',
      start: () => {},
      stop: (deadline) =>
        new Promise<void>((resolve) => {
          seen.push(['slow', deadline.aborted]);
          deadline.addEventListener('abort', () => resolve(), { once: true });
        }),
    };
    const later: Runnable = {
      name: 'later',
      start: () => {},
      stop: (deadline) => void seen.push(['later', deadline.aborted]),
    };
    const group = new RunnableGroup({ clock }).add(later).add(slow);
    await group.start();
    const stopped = group.stop(5_000);
    assert.equal(group.stop(1), stopped, 'a second stop returns the same promise');
    await clock.advance(4_999);
    assert.deepEqual(seen, [['slow', false]]);
    await clock.advance(1);
    await stopped;
    assert.deepEqual(seen, [
      ['slow', false],
      ['later', true],
    ]);
    assert.equal(clock.pendingTimers, 0, 'the deadline timer is cleared');
  });

  it('a stop that rejects is logged and the others still stop', async () => {
    const { log, part } = recorder();
    const warnings: string[] = [];
    const logger = { warn: (o: { runnable: string }) => warnings.push(o.runnable) } as never;
    const group = new RunnableGroup({ clock: new VirtualClock(), logger });
    group
      .add(part('a'))
      .add(part('b', { stop: () => Promise.reject(new Error('boom')) }))
      .add(part('c'));
    await group.start();
    await group.stop(0);
    assert.deepEqual(log, ['start a', 'start b', 'start c', 'stop c', 'stop a']);
    assert.deepEqual(warnings, ['b']);
  });

  it('backgroundTask: start waits for ready, stop aborts the run and waits for it', async () => {
    const clock = new VirtualClock({ now: 0 });
    const ticks: number[] = [];
    let ended = false;
    const task = backgroundTask(
      'ticker',
      async (signal) => {
        while (!signal.aborted) {
          ticks.push(clock.now());
          await clock.sleep(1_000, signal).catch(() => {});
        }
        ended = true;
      },
      { ready: () => void ticks.push(-1) },
    );
    const group = new RunnableGroup({ clock }).add(task);
    await group.start();
    await clock.advance(2_500);
    assert.deepEqual(ticks, [-1, 0, 1_000, 2_000]);
    await group.stop(1_000);
    assert.equal(ended, true);
    assert.equal(clock.pendingTimers, 0);
  });
});
